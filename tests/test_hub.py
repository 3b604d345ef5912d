"""zoo.publish / zoo.load("hf://...") with the real huggingface_hub client against a local Hub.

The server (tests/hub_server.py) runs on 127.0.0.1 and speaks the Hub's endpoints.
"""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import CheckpointError
from zoo.models.vae import VAE

from conftest import ROOT

pytestmark = pytest.mark.backend_free
pytest_plugins = ["hub_fixtures"]  # the `hub` and `hf_env` fixtures

REPO = "my-org/tiny-vae"
Z = np.random.default_rng(0).standard_normal((4, 4)).astype("float32")


def tiny_vae(shift=0.0):
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=4, filters=(4, 8), hidden=16, seed=0)
    model.set_weights([w + shift for w in model.get_weights()])
    return model


@pytest.fixture
def checkpoint(tmp_path):
    metrics = [{"key": "nll_iwae", "name": "Test NLL", "value": 123.4, "unit": "nats"}]
    return save_checkpoint(tiny_vae(), tmp_path / "tiny_vae",
                           {"name": "tiny_vae", "description": "A tiny VAE.", "metrics": metrics,
                            "dataset": {"name": "mnist", "license": "CC BY-SA 3.0"}})


def python(code, env, timeout=120):
    env = {**os.environ, **env, "KERAS_BACKEND": keras.backend.backend()}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout)


def test_publish_a_checkpoint_folder_in_one_commit_and_load_it_back(hub, checkpoint):
    url = zoo.publish(checkpoint, REPO)
    assert REPO in url
    files = hub.repo(REPO).files()
    assert sorted(files) == ["README.md", "config.json", "metadata.json", "model.weights.h5"]
    assert len(hub.repo(REPO).history()) == 2  # the repo's initial commit, then one upload
    card = files["README.md"].decode()
    assert card.startswith("---\n") and "library_name: keras" in card and f"hf://{REPO}" in card

    model = zoo.load(f"hf://{REPO}")
    np.testing.assert_allclose(model.decode_logits(Z), tiny_vae().decode_logits(Z), atol=1e-6)
    assert model.zoo_metadata["metrics"][0]["value"] == 123.4  # a folder keeps its measured numbers
    assert model.zoo_metadata["source"] == f"hf://{REPO}"
    assert model.compiled


def test_plain_keras_loads_a_published_checkpoint(hub, checkpoint):
    zoo.publish(checkpoint, REPO)
    model = keras.saving.load_model(f"hf://{REPO}")
    np.testing.assert_allclose(model.decode_logits(Z), tiny_vae().decode_logits(Z), atol=1e-6)


def test_a_finetuned_model_names_its_parent_and_drops_the_parents_numbers(hub, checkpoint):
    model = zoo.load(checkpoint)
    model.fit(np.random.default_rng(0).uniform(size=(32, 28, 28, 1)).astype("float32"), epochs=1, verbose=0)
    zoo.publish(model, "me/tuned")
    meta = json.loads(hub.repo("me/tuned").files()["metadata.json"])["zoo"]
    assert meta["parent"] == "tiny_vae" and meta["dataset"]["name"] == "mnist"
    assert "metrics" not in meta
    np.testing.assert_allclose(zoo.load("hf://me/tuned").decode_logits(Z), model.decode_logits(Z), atol=1e-6)


def test_revisions_branch_tag_and_commit(hub, checkpoint, tmp_path):
    from huggingface_hub import HfApi

    zoo.publish(checkpoint, REPO)
    first = HfApi().model_info(REPO).sha
    HfApi().create_tag(REPO, tag="v1")
    save_checkpoint(tiny_vae(shift=0.01), checkpoint, {"name": "tiny_vae", "description": "Shifted."},
                    overwrite=True)
    zoo.publish(checkpoint, REPO)
    old, new = tiny_vae().decode_logits(Z), tiny_vae(shift=0.01).decode_logits(Z)
    np.testing.assert_allclose(zoo.load(f"hf://{REPO}").decode_logits(Z), new, atol=1e-6)
    np.testing.assert_allclose(zoo.load(f"hf://{REPO}", revision="v1").decode_logits(Z), old, atol=1e-6)
    np.testing.assert_allclose(zoo.load(f"hf://{REPO}", revision=first).decode_logits(Z), old, atol=1e-6)


def test_official_copy_with_source_hub(hub, checkpoint, monkeypatch):
    monkeypatch.setenv("ZOO_HUB_ORG", "test-org")
    zoo.publish(checkpoint, "test-org/vae_mnist")
    model = zoo.load("vae_mnist", source="hub")
    assert model.zoo_metadata["source"] == "hf://test-org/vae_mnist"
    with pytest.raises(ValueError, match="source must be one of"):
        zoo.load("vae_mnist", source="internet")


def test_bundled_copies_never_touch_the_network(hub):
    before = hub.request_count()
    zoo.load("vae_mnist")
    assert hub.request_count() == before


@pytest.mark.parametrize("ref, revision, match", [
    ("hf://nobody/missing", None, "was not found.*HF_TOKEN"),
    (f"hf://{REPO}", "no-such-branch", "revision 'no-such-branch' does not exist"),
])
def test_missing_repos_and_revisions(hub, checkpoint, ref, revision, match):
    zoo.publish(checkpoint, REPO)
    with pytest.raises(CheckpointError, match=match):
        zoo.load(ref, revision=revision)


def test_bad_repo_ids_are_refused():
    with pytest.raises(ValueError, match="namespace/name"):
        zoo.load("hf://just-a-name")


def test_a_repo_that_is_not_a_zoo_checkpoint(hub):
    hub.seed("someone/text-model", {"README.md": b"# hello\n", "tokenizer.json": b"{}"})
    with pytest.raises(CheckpointError, match="not a zoo checkpoint.*config.json"):
        zoo.load("hf://someone/text-model")


def test_a_tampered_weights_file_fails_its_checksum(hub, checkpoint):
    zoo.publish(checkpoint, REPO)
    hub.tamper(REPO, "model.weights.h5")
    with pytest.raises(CheckpointError, match="fails its checksum"):
        zoo.load(f"hf://{REPO}")


def test_an_interrupted_download_is_never_loaded(hub, checkpoint, monkeypatch):
    from huggingface_hub import file_download

    monkeypatch.setattr(file_download.time, "sleep", lambda s: None)
    zoo.publish(checkpoint, REPO)
    hub.interrupt_download("model.weights.h5", times=None)
    with pytest.raises(CheckpointError, match="could not be reached|cannot load"):
        zoo.load(f"hf://{REPO}")
    hub.clear_faults()
    zoo.load(f"hf://{REPO}")


def test_network_down_says_how_to_work_offline(hub, checkpoint, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)  # the client retries with back-off
    zoo.publish(checkpoint, REPO)
    hub.stop()
    with pytest.raises(CheckpointError, match="could not be reached.*HF_HUB_OFFLINE=1"):
        zoo.load(f"hf://{REPO}")


def test_publish_without_a_token_says_how_to_log_in(hub, checkpoint, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(CheckpointError, match="hf auth login"):
        zoo.publish(checkpoint, REPO)
    assert REPO not in hub.repos


def test_offline_mode_uses_the_cache_and_explains_an_empty_one(hub, hf_env, checkpoint):
    zoo.publish(checkpoint, REPO)
    zoo.load(f"hf://{REPO}")  # fills the cache
    hub.stop()
    offline = {**hf_env, "HF_HUB_OFFLINE": "1"}
    code = f"import zoo; m = zoo.load('hf://{REPO}'); print(float(m.decode_logits(__import__('numpy').zeros((1, 4), 'float32')).sum()))"
    result = python(code, offline)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = float(tiny_vae().decode_logits(np.zeros((1, 4), "float32")).sum())
    assert float(result.stdout.strip().splitlines()[-1]) == pytest.approx(expected, abs=1e-4)

    result = python("import zoo; zoo.load('hf://my-org/never-downloaded')", offline)
    assert result.returncode != 0 and "HF_HUB_OFFLINE is set" in result.stderr


def test_cli_publish_load_and_sample(hub, hf_env, checkpoint, tmp_path):
    def zoo_cli(*args):
        env = {**os.environ, **hf_env, "KERAS_BACKEND": keras.backend.backend()}
        return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)

    result = zoo_cli("publish", str(checkpoint), REPO)
    assert result.returncode == 0 and f"hf://{REPO}" in result.stdout, result.stderr[-2000:]
    result = zoo_cli("load", f"hf://{REPO}")
    assert result.returncode == 0 and "tiny_vae: A tiny VAE." in result.stdout and "123.4" in result.stdout
    result = zoo_cli("sample", f"hf://{REPO}", "--n", "4", "--out", str(tmp_path / "s.png"))
    assert result.returncode == 0 and (tmp_path / "s.png").is_file(), result.stderr[-2000:]
    result = zoo_cli("load", "hf://my-org/absent")
    assert result.returncode == 2 and "was not found" in result.stderr  # bad input: status 2


def test_a_model_with_neither_bundled_nor_hub_copy_says_how_to_train_it(hub, tmp_path, monkeypatch):
    from zoo import registry

    monkeypatch.setattr(registry, "CHECKPOINTS", tmp_path / "no_checkpoints")
    with pytest.raises(CheckpointError, match=r"no bundled checkpoint.*not found.*python recipes/vae_mnist.py"):
        zoo.load("vae_mnist")
    assert hub.request_count() > 0  # it did look on the Hub
