"""Checkpoint folders: round trip, checksum, missing files, version, atomic writes, zoo.load."""

import json
import os

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import load_checkpoint, save_checkpoint
from zoo.errors import CheckpointError, UnknownModelError
from zoo.models.vae import VAE

METADATA = {"name": "tiny_vae", "description": "A tiny VAE for tests."}


def tiny_vae():
    keras.utils.set_random_seed(0)
    return VAE(latent_dim=4, filters=(4, 8), hidden=16, seed=0)


@pytest.fixture
def saved(tmp_path):
    model = tiny_vae()
    return model, save_checkpoint(model, tmp_path / "tiny_vae", METADATA)


def test_round_trip_gives_the_same_outputs_and_a_compiled_model(saved):
    model, path = saved
    assert sorted(p.name for p in path.iterdir() if p.is_file()) == [
        "README.md", "config.json", "metadata.json", "model.weights.h5"]
    loaded = zoo.load(path)
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.decode_logits(z), model.decode_logits(z), atol=1e-6)
    assert loaded.compiled and loaded.zoo_metadata["name"] == "tiny_vae"
    assert loaded.zoo_metadata["backend"] == keras.backend.backend()
    assert not load_checkpoint(path, compile=False).compiled


def test_plain_keras_loads_the_folder_too(saved):
    model, path = saved
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VAE)


def test_metadata_records_sha256_and_versions(saved):
    _, path = saved
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["keras_version"] == keras.__version__
    assert meta["zoo"]["zoo_version"] == zoo.__version__
    assert len(meta["zoo"]["weights_sha256"]) == 64
    assert (path / "README.md").read_text().startswith("---\n")


def test_altered_weights_fail_the_checksum(saved):
    _, path = saved
    data = bytearray((path / "model.weights.h5").read_bytes())
    data[-100] ^= 0xFF
    (path / "model.weights.h5").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="fails its checksum"):
        zoo.load(path)


def test_truncated_weights_fail_the_checksum(saved):
    _, path = saved
    data = (path / "model.weights.h5").read_bytes()
    (path / "model.weights.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or altered"):
        zoo.load(path)


@pytest.mark.parametrize("name", ["model.weights.h5", "config.json", "metadata.json"])
def test_missing_files_are_named(saved, name):
    _, path = saved
    (path / name).unlink()
    with pytest.raises(CheckpointError, match=f"missing {name}"):
        zoo.load(path)


def test_newer_format_asks_for_an_upgrade(saved):
    _, path = saved
    meta = json.loads((path / "metadata.json").read_text())
    meta["zoo"]["format_version"] = 99
    meta["zoo"]["zoo_version"] = "9.0.0"
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"keras-zoo 9.0.0 in checkpoint format 99.*Upgrade"):
        zoo.load(path)


def test_a_plain_keras_folder_is_not_a_zoo_checkpoint(tmp_path):
    keras.saving.save_model(tiny_vae(), tmp_path / "plain", zipped=False)
    with pytest.raises(CheckpointError, match="not a zoo checkpoint"):
        zoo.load(tmp_path / "plain")


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownModelError, match="Did you mean 'vae_mnist'"):
        zoo.load("vae_mnsit")
    with pytest.raises(UnknownModelError, match="Known models: .*vae_mnist"):
        zoo.load("nothing_like_it")


def test_existing_checkpoints_are_not_overwritten_silently(saved):
    model, path = saved
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_checkpoint(model, path, METADATA)


def test_an_interrupted_save_leaves_the_old_checkpoint_intact(saved, monkeypatch):
    model, path = saved
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr("zoo.cards.render_card", crash)
    other = tiny_vae()
    other.set_weights([w + 1.0 for w in other.get_weights()])
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(other, path, METADATA, overwrite=True)
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} == before
    assert os.listdir(path.parent) == [path.name]  # no staging folder left behind
    zoo.load(path)


def test_overwrite_replaces_the_checkpoint(saved):
    model, path = saved
    other = tiny_vae()
    other.set_weights([w + 1.0 for w in other.get_weights()])
    save_checkpoint(other, path, METADATA, overwrite=True)
    z = np.zeros((1, 4), "float32")
    np.testing.assert_allclose(zoo.load(path).decode_logits(z), other.decode_logits(z), atol=1e-6)
    assert os.listdir(path.parent) == [path.name]


def test_list_models_describes_every_entry():
    models = zoo.list_models()
    assert "vae_mnist" in models and "MNIST" in models["vae_mnist"]


def test_bundled_vae_mnist_loads_and_samples():
    vae = zoo.load("vae_mnist")
    images = vae.sample(16, seed=0)
    assert images.shape == (16, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    mean, log_var = vae.encode(images)
    assert mean.shape == log_var.shape == (16, 32)
    assert vae.decode_logits(mean).shape == (16, 28, 28, 1)
    assert any(m["key"] == "nll_iwae" for m in vae.zoo_metadata["metrics"])
