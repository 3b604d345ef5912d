"""Recipe: the judges' scores of bundled models trained before the judges existed, added to their cards.

The zoo's first generative and translation models were measured with the
feature networks (mnistnet, fashionnet, uspsnet), which a later model may use
inside its loss. This recipe measures them again with the judges
(zoo.metrics.judges: trained only to score), with each model's own recipe code
(`judge_metrics` of recipes/gan_mnist.py, gan_stacked_mnist.py,
cyclegan_mnist_usps.py, cyclegan_mnist_outline.py) on the samples and test
images the recipe measured (same counts and seeds), and adds the numbers to the
checkpoint's metadata, its results JSON (with this run's command and commit
under "judge_scores") and the cards. The weights are not touched; the cards
keep every number they had. A recipe run after the judges existed measures
them itself.

    python recipes/judge_scores.py                        # every model below
    python recipes/judge_scores.py --models gan_ns_mnist  # some of them
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402

import _common  # noqa: E402
import cyclegan_mnist_outline  # noqa: E402
import cyclegan_mnist_usps  # noqa: E402
import gan_mnist  # noqa: E402
import gan_stacked_mnist  # noqa: E402
import zoo  # noqa: E402
import zoo.data  # noqa: E402
import zoo.metrics.judges  # noqa: E402
from zoo import cards, evaluation, registry  # noqa: E402
from zoo.checkpoints import METADATA_FILE  # noqa: E402
from zoo.data.stacked import stack_digits, stacked_indices  # noqa: E402
from zoo.data.usps import load_usps  # noqa: E402
from zoo.io import write_atomic  # noqa: E402

GANS = tuple(name for name, entry in registry.ENTRIES.items() if entry.family == "gan" and "stacked" not in name)
MODELS = (*GANS, "gan_stacked_mnist", "cyclegan_mnist_usps", "cyclegan_mnist_outline")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    return parser.parse_args(argv)


def training_data(args):
    """Trains nothing: it measures bundled checkpoints."""
    return {}


def measure(name, model, results):
    """The judge metrics of bundled model `name`, measured as its recipe measured it (`results`: its JSON), with
    the protocols of zoo.evaluation."""
    seed = results["seed"]
    if name == "gan_stacked_mnist":
        x_test, _ = zoo.data.load("mnist", "test")
        real = stack_digits(x_test, stacked_indices(len(x_test), results["samples"], seed=seed + 1))
        real_stats = gan_stacked_mnist.mode_statistics(real, zoo.metrics.judges.judge("mnist"))[0]
        measured = evaluation.stacked_modes(model, samples=results["samples"], seed=seed)
        return gan_stacked_mnist.judge_metrics(measured, real_stats, f"{results['samples']} samples; channels "
                                                                     "labelled by mnist_judge")
    if name == "cyclegan_mnist_usps":
        measured = evaluation.values(evaluation.cyclegan_usps(model))
        return cyclegan_mnist_usps.judge_metrics(measured, len(zoo.data.load("mnist", "test")[1]),
                                                 len(load_usps("test")[1]))
    if name == "cyclegan_mnist_outline":
        return cyclegan_mnist_outline.judge_metrics(evaluation.values(evaluation.cyclegan_outline(model)), 10000)
    dataset = results["dataset"]
    n = results.get("samples") or gan_mnist.parse_args(["--loss", "ns"]).samples  # runs before --samples: its default
    args = argparse.Namespace(dataset=dataset, seed=seed)
    measured = evaluation.values(evaluation.gan_samples(model, **gan_mnist.protocol(args, n)))
    return gan_mnist.judge_rows(measured, dataset, f"{n} samples vs as many {dataset} test images")


def merged(metrics, new):
    """`metrics` (a card's list) with the entries of `new` replacing those of the same key, or appended."""
    keys = {m["key"] for m in new}
    return [m for m in metrics if m["key"] not in keys] + list(new)


def main(argv=None):
    args = parse_args(argv)
    record = {"command": _common.command_line(), "git_commit": _common.COMMIT, "device": _common.device(),
              "backend": keras.backend.backend(), "date": time.strftime("%Y-%m-%d")}
    for name in args.models:
        folder = registry.get(name).checkpoint_dir
        results_path = _common.ROOT / "results" / f"{name}.json"
        results = json.loads(results_path.read_text())
        model = zoo.load(name, compile=False)
        new = measure(name, model, results)
        print(f"{name}: " + ", ".join(f"{m['key']} {m['value']}" for m in new), flush=True)
        results["metrics"] = {**results["metrics"], **{m["key"]: m["value"] for m in new}}
        results["judge_scores"] = record
        metadata = json.loads((folder / METADATA_FILE).read_text())
        metadata["zoo"]["metrics"] = merged(metadata["zoo"]["metrics"], new)
        metadata["zoo"]["judge_scores"] = record
        write_atomic(folder / METADATA_FILE, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        _common.write_json(results_path, results)
    for path in cards.write_cards(_common.ROOT):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
