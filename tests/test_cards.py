"""Tests of zoo.cards: card content, YAML front matter, errors and the write/check cycle."""

import copy
import json
import re

import pytest

from zoo import cards

pytestmark = pytest.mark.backend_free

SAMPLE = {
    "keras_version": "3.15.1",
    "date_saved": "2025-01-01@12:00:00",
    "zoo": {
        "format_version": 1,
        "zoo_version": "0.1.0",
        "name": "vae_mnist",
        "description": "Convolutional VAE on dynamically binarized MNIST",
        "paper": "Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014 (arXiv:1312.6114)",
        "family": "vae",
        "license": "apache-2.0",
        "dataset": {
            "name": "mnist",
            "license": "CC BY-SA 3.0",
            "url": "http://yann.lecun.com/exdb/mnist/",
            "split": "train (60k)",
        },
        "backend": "jax",
        "keras_version": "3.15.1",
        "weights_file": "model.weights.h5",
        "weights_sha256": "0123456789abcdef" * 4,
        "metrics": [
            {
                "key": "nll_iwae",
                "name": "Test NLL (IWAE bound, k=1000)",
                "value": 89.1,
                "unit": "nats",
                "lower_is_better": True,
                "target": "<= 87",
                "reference": "86.76 (IWAE paper), 89.9 (pythae)",
                "split": "test (10k)",
            }
        ],
        "recipe": "recipes/vae_mnist.py",
        "command": "python recipes/vae_mnist.py --epochs 100",
        "results_file": "results/vae_mnist.json",
        "seed": 0,
        "seconds": 1234.5,
        "steps": 46900,
        "epochs": 100,
        "git_commit": "abc123",
        "parent": None,
        "tags": ["vae", "generative", "mnist"],
        "intended_use": "Sampling and encoding 28x28 grey digits.",
        "limitations": "Digits only; samples are blurrier than GAN samples.",
    },
}


def sample(**changes):
    metadata = copy.deepcopy(SAMPLE)
    metadata["zoo"].update(changes)
    return metadata


def front_matter(card):
    """Parses the card's YAML front matter, allowing only the YAML subset cards should emit.

    Block mappings and `- ` sequences by indentation; scalars are JSON-quoted
    strings, numbers, `[]`, or plain words that YAML cannot misread.
    """
    assert card.startswith("---\n")
    block = card[4:].split("\n---\n", 1)[0]
    lines = [[len(line) - len(line.lstrip(" ")), line.strip()] for line in block.splitlines()]
    value, end = _parse_block(lines, 0, 0)
    assert end == len(lines), f"unparsed line: {lines[end]}"
    return value


def _parse_block(lines, i, indent):
    if lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            content = lines[i][1][2:]
            if re.match(r"[\w-]+:( |$)", content):  # "- key: value" opens a mapping
                lines[i] = [indent + 2, content]
                item, i = _parse_block(lines, i, indent + 2)
            else:
                item, i = _scalar(content), i + 1
            items.append(item)
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        key, colon, rest = lines[i][1].partition(": " if ": " in lines[i][1] else ":")
        assert colon and key not in mapping, lines[i]
        i += 1
        if rest:
            mapping[key] = _scalar(rest)
        else:
            assert lines[i][0] > indent or lines[i][1].startswith("- "), lines[i]
            mapping[key], i = _parse_block(lines, i, lines[i][0])
    return mapping, i


def _scalar(text):
    if text == "[]":
        return []
    if text.startswith('"'):
        return json.loads(text)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    assert re.fullmatch(r"[A-Za-z][\w./-]*", text), f"ambiguous plain scalar: {text!r}"
    assert text.lower() not in {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}, text
    return text


def test_front_matter_has_hub_metadata():
    meta = front_matter(cards.render_card(SAMPLE))

    assert meta["library_name"] == "keras"
    assert meta["license"] == "apache-2.0"
    assert meta["tags"] == ["keras", "keras-zoo", "vae", "generative", "mnist"]
    assert meta["datasets"] == ["mnist"]
    assert "pipeline_tag" not in meta and "base_model" not in meta
    assert meta["model-index"] == [
        {
            "name": "vae_mnist",
            "results": [
                {
                    "task": {"type": "vae"},
                    "dataset": {"name": "mnist", "type": "mnist"},
                    "metrics": [
                        {"type": "nll_iwae", "value": 89.1, "name": "Test NLL (IWAE bound, k=1000)"}
                    ],
                }
            ],
        }
    ]


def test_front_matter_quotes_strings_yaml_would_misread():
    tricky = ["yes", "1.0", "a: b", 'say "hi"', "#hash", "- dash", "ünïcode"]
    meta = front_matter(cards.render_card(sample(tags=tricky, pipeline_tag="image-to-image")))

    assert meta["tags"] == ["keras", "keras-zoo", *tricky]
    assert meta["pipeline_tag"] == "image-to-image"


def test_front_matter_agrees_with_pyyaml():
    yaml = pytest.importorskip("yaml")
    card = cards.render_card(sample(tags=["yes", "a: b", "ünïcode"], parent="hf://org/vae_base"))

    assert yaml.safe_load(card.split("---\n")[1]) == front_matter(card)


def test_card_body_reports_the_measurement():
    card = cards.render_card(SAMPLE)

    row = next(line for line in card.splitlines() if "`nll_iwae`" in line)
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells[1:] == ["89.1", "nats", "<= 87", "86.76 (IWAE paper), 89.9 (pythae)", "test (10k)"]
    assert "lower is better" in cells[0]
    for fact in [
        "`python recipes/vae_mnist.py --epochs 100`",
        "jax backend",
        "1234.5 s",
        "46900 steps",
        "seed 0",
        "`abc123`",
        "CC BY-SA 3.0",
        'zoo.load("vae_mnist")',
        'keras.saving.load_model("hf://keras-zoo/vae_mnist")',
        "## Limitations",
        SAMPLE["zoo"]["weights_sha256"],
    ]:
        assert fact in card, fact
    assert "## Parent model" not in card


def test_card_names_the_device_a_recipe_recorded():
    assert "jax backend with" in cards.render_card(SAMPLE)  # older checkpoints record no device
    card = cards.render_card(sample(device="gpu: NVIDIA H100 80GB HBM3"))
    assert "on the jax backend (gpu: NVIDIA H100 80GB HBM3) with Keras" in card


def test_card_says_who_set_standing_statistics_and_what_the_moving_averages_gave():
    standing = {"batches": 500, "batch_size": 64, "seed": 1, "command": "python recipes/gan_mnist.py --standing-only",
                "git_commit": "def456", "moving_average_metrics": {"fid_mnistnet": 7.8305}}
    card = cards.render_card(sample(standing_statistics=standing))
    assert ("Then `python recipes/gan_mnist.py --standing-only` (git commit `def456`) set the generator's BatchNorm "
            "statistics to their averages over 500 batches of 64") in card
    assert "with the training's moving averages they were fid_mnistnet 7.8305." in card
    # Fine-tuning records only the settings.
    card = cards.render_card(sample(standing_statistics={"batches": 200, "batch_size": 16, "seed": 1}))
    assert "Then set the generator's BatchNorm statistics to their averages over 200 batches of 16" in card
    assert "standing statistics" not in cards.render_card(SAMPLE)


def test_card_names_its_parent_and_repository():
    card = cards.render_card(sample(parent="vae_base"), repo_id="me/my_vae")

    assert front_matter(card)["base_model"] == "keras-zoo/vae_base"
    assert "## Parent model" in card and "https://huggingface.co/keras-zoo/vae_base" in card
    assert 'load_model("hf://me/my_vae")' in card


@pytest.mark.parametrize(
    "value, shown",
    [
        (0.1 + 0.2, "0.3"),
        (89.123456, "89.1235"),
        (0.000123456, "0.0001235"),
        (46900, "46900"),
        (-2.0, "-2"),
    ],
)
def test_numbers_are_rounded(value, shown):
    metric = dict(SAMPLE["zoo"]["metrics"][0], value=value)
    card = cards.render_card(sample(metrics=[metric]))

    assert f"| {shown} | nats |" in card
    assert f"      value: {shown}\n" in card


def test_render_is_deterministic():
    first = cards.render_card(SAMPLE)
    later = copy.deepcopy(SAMPLE)
    later["date_saved"] = "2031-06-30@08:00:00"

    assert cards.render_card(later) == first
    assert cards.render_model_cards([later]) == cards.render_model_cards([SAMPLE])
    assert "2025" not in first


@pytest.mark.parametrize("key", cards.REQUIRED_KEYS)
def test_missing_required_key_is_named(key):
    metadata = copy.deepcopy(SAMPLE)
    del metadata["zoo"][key]

    with pytest.raises(ValueError, match=f'"{key}"') as error:
        cards.render_card(metadata)
    if key != "name":
        assert "vae_mnist" in str(error.value)


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"keras_version": "3.15.1"}, '"zoo"'),
        (sample(format_version=2), "newer zoo"),
        (sample(description="two\nlines"), "one line"),
        (sample(metrics=[{"key": "fid", "value": float("nan")}]), r"metrics\[0\].*fid"),
        (sample(metrics=[{"value": 1.0}]), r"metrics\[0\].*\"key\""),
    ],
)
def test_invalid_metadata_is_explained(metadata, message):
    with pytest.raises(ValueError, match=message):
        cards.render_card(metadata)


def test_optional_keys_may_be_missing():
    zoo = {key: SAMPLE["zoo"][key] for key in cards.REQUIRED_KEYS}
    card = cards.render_card({"zoo": zoo})

    meta = front_matter(card)
    assert meta["tags"] == ["keras", "keras-zoo"]
    assert meta["model-index"] == [{"name": "vae_mnist", "results": []}]
    assert "No measurements recorded." in card
    for section in ["Training data", "Limitations", "Parent model", "Intended use"]:
        assert section not in card


def test_model_cards_summarise_every_model_sorted():
    other = sample(name="ae_mnist", description="Plain autoencoder", backend="torch", metrics=[])
    text = cards.render_model_cards([SAMPLE, other])

    assert "python -m zoo.cards" in text and "never edit" in text
    assert not text.startswith("---") and "library_name" not in text
    assert text.index("\n## ae_mnist\n") < text.index("\n## vae_mnist\n")
    assert "### Results" in text
    assert (
        "| [vae_mnist](#vae_mnist) | Convolutional VAE on dynamically binarized MNIST | "
        "Test NLL (IWAE bound, k=1000): 89.1 nats | jax |" in text
    )
    assert "| [ae_mnist](#ae_mnist) | Plain autoencoder | — | torch |" in text
    with pytest.raises(ValueError, match="vae_mnist"):
        cards.render_model_cards([SAMPLE, SAMPLE])


def make_checkpoint(root, metadata):
    folder = root / "checkpoints" / metadata["zoo"]["name"]
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    return folder


def test_write_then_check_round_trip(tmp_path):
    folder = make_checkpoint(tmp_path, SAMPLE)
    make_checkpoint(tmp_path, sample(name="ae_mnist"))
    expected = [
        "checkpoints/ae_mnist/README.md",
        "checkpoints/vae_mnist/README.md",
        "MODEL_CARDS.md",
    ]

    assert cards.check_cards(tmp_path) == expected
    assert not (folder / "README.md").exists()  # checking writes nothing

    written = cards.write_cards(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(expected)
    assert (folder / "README.md").read_text(encoding="utf-8") == cards.render_card(SAMPLE)
    assert cards.check_cards(tmp_path) == []
    assert not list(tmp_path.rglob("*.tmp"))

    readme = folder / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("89.1", "85.0"), encoding="utf-8")
    assert cards.check_cards(tmp_path) == ["checkpoints/vae_mnist/README.md"]


def test_write_cards_names_the_bad_checkpoint(tmp_path):
    folder = make_checkpoint(tmp_path, SAMPLE)
    (folder / "metadata.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="vae_mnist.metadata.json"):
        cards.write_cards(tmp_path)

    (folder / "metadata.json").write_text(json.dumps(sample(name="other")), encoding="utf-8")
    with pytest.raises(ValueError, match="'other' but the folder is 'vae_mnist'"):
        cards.check_cards(tmp_path)


def test_main_writes_and_checks(tmp_path, capsys):
    make_checkpoint(tmp_path, SAMPLE)

    assert cards.main(["--root", str(tmp_path), "--check"]) == 1
    assert "stale: checkpoints/vae_mnist/README.md" in capsys.readouterr().out
    assert cards.main(["--root", str(tmp_path)]) == 0
    assert cards.main(["--root", str(tmp_path), "--check"]) == 0


def test_readme_results_table_is_generated_between_its_markers(tmp_path):
    make_checkpoint(tmp_path, SAMPLE)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Zoo\n\n{cards.README_START}\nstale\n{cards.README_END}\n\nMore.\n", encoding="utf-8")
    assert "README.md" in cards.check_cards(tmp_path)
    cards.write_cards(tmp_path)
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and text.endswith(f"{cards.README_END}\n\nMore.\n")
    assert "[vae_mnist](MODEL_CARDS.md#vae_mnist)" in text and "89.1" in text
    assert cards.check_cards(tmp_path) == []

    readme.write_text("# Zoo without markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        cards.check_cards(tmp_path)


def test_only_a_published_card_presents_the_hub_line_as_working():
    local = cards.render_card(SAMPLE)
    assert "not published on the Hugging Face Hub yet" in local
    published = cards.render_card(SAMPLE, repo_id="my-org/vae")
    assert "not published" not in published and 'load_model("hf://my-org/vae")' in published
