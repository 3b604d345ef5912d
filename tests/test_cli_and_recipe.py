"""The `zoo` command and the VAE recipe's --quick run, end to end in subprocesses."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import cards
from zoo.checkpoints import sha256

from conftest import ROOT, load_recipe


def run(args, **kwargs):
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.mark.one_backend("torch")
def test_zoo_list_and_sample_write_an_8x8_grid(tmp_path):
    listing = run(["-m", "zoo.cli", "list"]).stdout
    assert "vae_mnist" in listing
    out = tmp_path / "samples.png"
    run(["-m", "zoo.cli", "sample", "vae_mnist", "--n", "64", "--out", str(out)])
    image = Image.open(out)
    assert image.size == (8 * 28 + 9 * 2, 8 * 28 + 9 * 2)  # 8x8 cells of 28 px, 2 px padding
    pixels = np.asarray(image, dtype="float32")
    assert pixels.std() > 10  # digits, not a blank page


@pytest.mark.one_backend("tensorflow")
def test_zoo_interpolate_writes_one_row_per_pair_of_codes(tmp_path):
    out = tmp_path / "walk.png"
    run(["-m", "zoo.cli", "interpolate", "gan_mm_mnist", "--rows", "2", "--steps", "5", "--out", str(out)])
    image = np.asarray(Image.open(out), dtype="float32")
    assert image.shape[:2] == (2 * 28 + 3 * 2, 5 * 28 + 6 * 2)
    ends = image[2:30, 2:30], image[2:30, -30:-2]  # the two ends of the first row differ: distinct codes
    assert np.abs(ends[0] - ends[1]).mean() > 5
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "interpolate", "pca_olivetti", "--out",
                             str(tmp_path / "x.png")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and "no latent space" in result.stderr
    assert not (tmp_path / "x.png").exists()
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "interpolate", "gan_mm_mnist", "--steps", "1", "--out",
                             str(tmp_path / "y.png")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and "--steps >= 2" in result.stderr
    assert not (tmp_path / "y.png").exists()


@pytest.mark.backend_free
def test_zoo_sample_of_an_unknown_model_fails_clearly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "sample", "vae_mnsit", "--out", str(tmp_path / "x.png")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and "Did you mean 'vae_mnist'" in result.stderr
    assert not (tmp_path / "x.png").exists()


def one_thread_env():
    """The environment of the resume tests' recipe runs: how a multi-threaded kernel splits its sums can vary
    from run to run, and Adam turns those last-bit differences into weight differences far over 1e-6."""
    return {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def quick_vae(folder, *extra, check=True):
    """`recipes/vae_mnist.py --quick` writing into `folder`; the completed process."""
    command = ["recipes/vae_mnist.py", "--quick", "--verbose", "0", "--out", str(folder / "vae"), "--results",
               str(folder / "vae.json"), "--state", str(folder / "state.npz"), *extra]
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=one_thread_env(),
                            cwd=ROOT, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def uninterrupted_vae(tmp_path_factory, real_tfds_dir):
    folder = tmp_path_factory.mktemp("vae")
    quick_vae(folder)
    return folder


@pytest.mark.one_backend("torch")
def test_quick_recipe_trains_evaluates_and_writes_a_loadable_checkpoint(uninterrupted_vae):
    bundled = ROOT / "checkpoints" / "vae_mnist" / "model.weights.h5"
    bundled_before = sha256(bundled) if bundled.exists() else None
    out, results = uninterrupted_vae / "vae", uninterrupted_vae / "vae.json"
    data = json.loads(results.read_text())
    assert data["backend"] == keras.backend.backend() and data["quick"]
    assert 80 < data["metrics"]["nll_iwae"] <= data["metrics"]["negative_elbo"] + 1.0
    model = zoo.load(out)
    assert model.zoo_metadata["metrics"][0]["value"] == data["metrics"]["nll_iwae"]
    assert (bundled_before is None) == (not bundled.exists())
    if bundled_before:
        assert sha256(bundled) == bundled_before  # --quick never touches the bundled checkpoint


def same_weights(a, b):
    for x, y in zip(zoo.load(a).get_weights(), zoo.load(b).get_weights(), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


@pytest.mark.one_backend("torch")
def test_a_recipe_stopped_by_a_limit_resumes_to_the_uninterrupted_weights(uninterrupted_vae, tmp_path):
    stopped = quick_vae(tmp_path, "--max-steps", "5", check=False)
    assert stopped.returncode == 75, stopped.stderr[-2000:]
    assert "after 5 steps" in stopped.stderr and "--resume" in stopped.stderr.splitlines()[-1]
    assert not (tmp_path / "vae").exists()  # no checkpoint from a stopped training
    again = quick_vae(tmp_path, check=False)  # forgetting --resume: refused, nothing overwritten
    assert again.returncode == 2 and "unfinished training (step 5" in again.stderr and "--restart" in again.stderr
    quick_vae(tmp_path, "--resume", "--max-steps", "6", check=False)
    quick_vae(tmp_path, "--resume")
    same_weights(tmp_path / "vae", uninterrupted_vae / "vae")
    runs = json.loads((tmp_path / "vae.json").read_text())["training_runs"]
    assert [r["step"] for r in runs] == [0, 5, 11] and all("--quick" in r["command"] for r in runs)


@pytest.mark.one_backend("torch")
def test_a_recipe_killed_at_any_moment_resumes_to_the_uninterrupted_weights(uninterrupted_vae, tmp_path):
    import signal
    import time

    env = one_thread_env()
    command = [sys.executable, "recipes/vae_mnist.py", "--quick", "--verbose", "0", "--out", str(tmp_path / "vae"),
               "--results", str(tmp_path / "vae.json"), "--state", str(tmp_path / "state.npz"), "--save-minutes", "0"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (tmp_path / "state.npz").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.05)  # somewhere in the training, maybe in the middle of a save
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "vae").exists(), "killed too late: the training had finished"
    quick_vae(tmp_path, "--resume")
    same_weights(tmp_path / "vae", uninterrupted_vae / "vae")


@pytest.mark.backend_free
def test_resume_refuses_a_missing_another_or_a_damaged_state(tmp_path, monkeypatch, capsys):
    recipe = load_recipe("vae_mnist")

    def refused(*extra):  # the recipe as the shell runs it (in this process: the refusals come before any data)
        monkeypatch.setattr(sys, "argv", ["recipes/vae_mnist.py", "--quick", "--verbose", "0", "--out",
                                          str(tmp_path / "vae"), "--results", str(tmp_path / "vae.json"), "--state",
                                          str(tmp_path / "state.npz"), *extra])
        with pytest.raises(SystemExit) as stop:
            recipe._common.run(recipe.main)
        return stop.value.code, capsys.readouterr().err

    status, message = refused("--resume")
    assert status == 2 and "no training state at" in message
    (tmp_path / "state.npz").write_bytes(b"PK\x03\x04 half a file")
    status, message = refused("--resume")
    assert status == 2 and "not a readable training state" in message
    status, message = refused()  # not overwritten without --restart either
    assert status == 2 and "not overwritten without --restart" in message
    status, message = refused("--resume", "--restart")
    assert status == 2 and "pass one" in message
    assert (tmp_path / "state.npz").read_bytes() == b"PK\x03\x04 half a file"
    assert not (tmp_path / "vae").exists() and not (tmp_path / "vae.json").exists()


@pytest.mark.backend_free
def test_model_cards_are_in_sync_with_checkpoint_metadata():
    stale = cards.check_cards(ROOT)
    assert stale == [], f"run `python -m zoo.cards` to regenerate {stale}"


@pytest.mark.one_backend("tensorflow")
def test_quick_gan_recipe_measures_with_the_bundled_classifier(tmp_path, real_tfds_dir):
    out, results = tmp_path / "gan", tmp_path / "gan.json"
    run(["recipes/gan_mnist.py", "--loss", "ns", "--quick", "--verbose", "0", "--out", str(out),
         "--results", str(results)], timeout=300)
    data = json.loads(results.read_text())
    assert data["backend"] == keras.backend.backend() and data["generator_steps"] == 32
    assert data["metrics"]["fid_mnistnet"] > 0 and 0.0 <= data["metrics"]["recall"] <= 1.0
    assert Image.open(results.with_suffix(".png")).size == (8 * 28 + 9 * 2,) * 2
    images = zoo.load(out).sample(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and 0.0 <= images.min() and images.max() <= 1.0
    card = json.loads((out / "metadata.json").read_text())["zoo"]
    assert card["intended_use"].endswith("comparing GAN losses under one budget.")  # a comparison entry
    assert card["device"] == data["device"]


@pytest.mark.backend_free
def test_standing_only_rewrites_a_trained_gan_with_standing_statistics_and_keeps_its_training(tmp_path,
                                                                                             real_tfds_dir,
                                                                                             monkeypatch):
    out, results = tmp_path / "gan", tmp_path / "gan.json"
    common = ["recipes/gan_mnist.py", "--loss", "ns", "--quick", "--verbose", "0", "--out", str(out),
              "--results", str(results)]
    recipe = load_recipe("gan_mnist")

    def run(argv, timeout=None):  # the recipe as the shell runs it, in this process
        monkeypatch.setattr(sys, "argv", argv)
        recipe.main()

    run(common + ["--standing-batches", "0"], timeout=300)  # the moving averages, as before standing statistics
    trained = json.loads(results.read_text())
    assert trained["standing_statistics"] is None
    moving = zoo.load(out).generator.get_layer("project_norm").moving_mean.numpy()

    run(common + ["--standing-only", "--standing-batches", "5"], timeout=300)
    data = json.loads(results.read_text())
    for key in ("command", "git_commit", "train_seconds", "history", "generator_steps", "epochs"):
        assert data[key] == trained[key], key  # the training's provenance is kept
    standing = data["standing_statistics"]
    assert (standing["batches"], standing["batch_size"]) == (5, 64) and "--standing-only" in standing["command"]
    assert standing["seed"] == trained["seed"] + 1  # codes apart from those the samples are measured on
    # Measured again with the moving averages: what the training run measured.
    before = standing["moving_average_metrics"]
    assert before["fid_mnistnet"] == pytest.approx(trained["metrics"]["fid_mnistnet"], rel=1e-3)
    assert data["metrics"]["fid_mnistnet"] != trained["metrics"]["fid_mnistnet"]
    model = zoo.load(out)
    assert not np.allclose(model.generator.get_layer("project_norm").moving_mean.numpy(), moving)
    assert model.zoo_metadata["standing_statistics"]["batches"] == 5
    assert model.zoo_metadata["command"] == trained["command"]

    with pytest.raises(ValueError, match="already has standing statistics"):
        run(common + ["--standing-only"])

    # A checkpoint and a results file of different runs are refused, in whichever order they differ.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**trained, "command": "python recipes/gan_mnist.py --loss ns --epochs 2"}))
    args = recipe.parse_args(["--loss", "ns", "--standing-only"])
    with pytest.raises(ValueError, match="are not one run of gan_ns_mnist"):
        recipe._common.load_trained(out, other, "gan_ns_mnist", args, ("seed",))


@pytest.mark.backend_free
def test_standing_statistics_options_and_runs_get_clear_errors(tmp_path, capsys):
    recipe = load_recipe("gan_mnist")
    for bad, message in [
        (["--loss", "ns", "--standing-batches", "-1"], "--standing-batches must be >= 0"),
        (["--loss", "ns", "--standing-only", "--standing-batches", "0"], "needs --standing-batches > 0"),
    ]:
        with pytest.raises(SystemExit):
            recipe.parse_args(bad)
        assert message in capsys.readouterr().err, bad
    assert recipe.parse_args(["--loss", "ns", "--quick"]).standing_batches == 20  # capped in a quick run

    args = recipe.parse_args(["--loss", "ns", "--standing-only"])
    with pytest.raises(FileNotFoundError, match="do not exist; train it first"):
        recipe._common.load_trained(tmp_path / "none", tmp_path / "none.json", "gan_ns_mnist", args, ())
    # BEGAN's bundled generator has no BatchNorm: nothing to set.
    with pytest.raises(ValueError, match="generator has no BatchNorm"):
        recipe._common.load_trained(ROOT / "checkpoints" / "gan_began_mnist", ROOT / "results" / "gan_began_mnist.json",
                                    "gan_began_mnist", args, ())


@pytest.mark.backend_free
def test_gan_recipe_trains_one_entry_named_by_loss_or_by_name(capsys):
    recipe = load_recipe("gan_mnist")
    assert recipe.parse_args(["--name", "dcgan_mnist"]).name == "dcgan_mnist"
    assert recipe.parse_args(["--loss", "mm"]).loss == "mm"
    for bad, message in [
        ([], "exactly one of --loss"),
        (["--loss", "ns", "--name", "dcgan_mnist"], "exactly one of --loss"),
        (["--name", "vae_mnist"], "must be a GAN registry entry"),
        (["--name", "gan_stacked_mnist"], "recipes/gan_stacked_mnist.py"),
        (["--name", "dcgan_mnist", "--dataset", "fashion_mnist"], "dcgan_mnist is trained on mnist"),
    ]:
        with pytest.raises(SystemExit):
            recipe.parse_args(bad)
        assert message in capsys.readouterr().err, bad


@pytest.mark.one_backend("torch")
def test_quick_ring_recipe_counts_modes_and_draws_them(tmp_path):
    results = tmp_path / "ring.json"
    run(["recipes/gan_ring.py", "--quick", "--losses", "mm", "--results", str(results)], timeout=300)
    data = json.loads(results.read_text())
    run_mm = data["runs"]["mm"]
    assert run_mm["generator_steps"] == 50 and 0 <= run_mm["modes_covered"] <= 8
    assert Image.open(tmp_path / run_mm["picture"]).size == (640, 640)


@pytest.mark.one_backend("torch")
def test_quick_autoencoder_recipe_measures_its_code_and_writes_pictures(tmp_path, real_tfds_dir):
    out, results = tmp_path / "dae", tmp_path / "dae_mnist.json"
    run(["recipes/autoencoder_mnist.py", "--model", "dae", "--quick", "--verbose", "0", "--out", str(out),
         "--results", str(results)], timeout=300)
    data = json.loads(results.read_text())
    measured = data["measured"]
    for key in ("linear_probe", "cluster_accuracy", "cluster_nmi", "retrieval_p10", "labels_100_frozen",
                "labels_100_pretrained", "labels_100_scratch"):
        assert 0.0 <= measured[key] <= 1.0, key
    assert measured["linear_probe"] > 0.2 and measured["retrieval_p10"] > 0.2  # above chance (0.1) after 1 epoch
    for picture in ("reconstructions", "denoising", "retrieval"):
        assert (tmp_path / f"dae_mnist_{picture}.png").is_file()
    model = zoo.load(out)
    assert model.noise == "masking" and model.encode(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 16)


@pytest.mark.one_backend("tensorflow")
def test_quick_stacked_mnist_recipe_counts_modes_of_samples_and_real_data(tmp_path, real_tfds_dir):
    out, results = tmp_path / "stacked", tmp_path / "stacked.json"
    run(["recipes/gan_stacked_mnist.py", "--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
         "--width", "16", "--critic-depth", "3"], timeout=300)
    data = json.loads(results.read_text())
    assert data["generator_steps"] == 40 and 1 <= data["metrics"]["modes_covered"] <= 1000
    assert (data["width"], data["critic_depth"]) == (16, 3)
    standing = data["standing_statistics"]  # set after training (20 batches in a quick run)
    assert standing["batches"] == 20 and set(standing["moving_average_metrics"]) == {
        "modes_covered", "mode_kl", "modes_covered_mnist_judge", "mode_kl_mnist_judge"}  # counted by both networks
    assert 0.0 <= data["metrics"]["mode_kl"] <= np.log(1000) + 1e-4  # results keep 4 decimals; one mode: log 1000
    # 2000 real stacks of test digits reach most of the 1000 modes; mnistnet's reading matches the labels'.
    assert data["real_reference"]["modes"] > 800
    assert abs(data["real_reference"]["kl"] - data["real_reference"]["kl_true_labels"]) < 0.05
    model = zoo.load(out)
    assert model.critic.get_layer("conv_2").filters == 64 and "critic depth 3" in model.zoo_metadata["description"]
    images = model.sample(4, seed=0)
    assert images.shape == (4, 28, 28, 3) and 0.0 <= images.min() and images.max() <= 1.0


@pytest.mark.backend_free
def test_gan_comparison_tables_the_budget_and_the_runs_outside_it():
    recipe = load_recipe("gan_compare")
    metrics = {"fid_mnistnet": 50.0, "precision": 0.5, "recall": 0.5, "class_kl": 0.02}
    runs = [{"loss": loss, "n_critic": 1, "metrics": {**metrics, "fid_mnistnet": fid}, "train_seconds": 90.0,
             "picture": f"gan_{loss}_mnist.png", "epochs": 5, "batch_size": 64, "generator_steps": 4690,
             "backend": "jax"} for loss, fid in (("ns", 99.0), ("mm", 73.0))]
    rows = [line for line in recipe.table(runs, 3.14).splitlines() if line.startswith("| ")][1:]
    assert [row.split(" | ")[0] for row in rows] == ["| mm", "| ns"]  # best fid first
    beyond = recipe.beyond_budget_table([{**runs[0], "name": "dcgan_mnist", "epochs": 15, "generator_steps": 14070,
                                          "command": "python recipes/gan_mnist.py --name dcgan_mnist"}])
    assert "| [dcgan_mnist](gan_ns_mnist.png) | ns | 15 | 14070 | 99 |" in beyond
    # With standing statistics, the moving averages' fid gets its own column; without, "-".
    assert rows[0].split(" | ")[6] == "-"
    standing = {**runs[1], "standing_statistics": {"moving_average_metrics": {"fid": 75.5}}}
    assert recipe.table([standing], 3.14).splitlines()[-1].split(" | ")[6] == "75.5"
    assert "`python recipes/gan_mnist.py --name dcgan_mnist`" in beyond
