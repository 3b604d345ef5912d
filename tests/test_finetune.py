"""Fine-tuning on a folder of the user's images: best checkpoint, parent recorded, resumable."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.finetune import finetune
from zoo.models.vae import VAE

from conftest import ROOT


@pytest.fixture
def image_folder(tmp_path):
    """50 generated 28x28 grey PNGs: random strokes, like hand-drawn marks."""
    folder = tmp_path / "my_images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(50):
        image = Image.new("L", (28, 28), 0)
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            draw.line([tuple(rng.integers(4, 24, 2)) for _ in range(3)], fill=255, width=3)
        image.save(folder / f"img_{i:02d}.png")
    return folder


@pytest.fixture
def parent(tmp_path):
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=4, filters=(4, 8), hidden=16, seed=0)
    return save_checkpoint(model, tmp_path / "tiny_vae", {"name": "tiny_vae", "description": "A tiny VAE.",
                                                          "license": "apache-2.0"})


def test_finetune_writes_a_checkpoint_that_names_its_parent(image_folder, parent, tmp_path):
    out = finetune(parent, image_folder, tmp_path / "my_vae", epochs=2, batch_size=16, verbose=0)
    model = zoo.load(out)
    meta = model.zoo_metadata
    assert meta["parent"] == "tiny_vae" and meta["license"] == "apache-2.0"
    assert meta["name"] == "my_vae" and "50 images" in meta["description"]
    assert meta["metrics"][0]["split"] == "held-out 5 of 50 images" and np.isfinite(meta["metrics"][0]["value"])
    assert not (tmp_path / "my_vae.work").exists()
    with pytest.raises(FileExistsError, match="--overwrite"):
        finetune(parent, image_folder, out, epochs=1, verbose=0)


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("torch")
def test_an_interrupted_finetune_resumes_where_it_stopped(image_folder, parent, tmp_path):
    out = tmp_path / "my_vae"
    with pytest.raises(KeyboardInterrupt):
        finetune(parent, image_folder, out, epochs=3, batch_size=16, verbose=0, callbacks=[Interrupt(at_epoch=1)])
    assert not out.exists() and (tmp_path / "my_vae.work").is_dir()
    record = RecordEpochs()
    finetune(parent, image_folder, out, epochs=3, batch_size=16, verbose=0, callbacks=[record])
    assert record.epochs == [2]  # epochs 0 and 1 were restored, not repeated
    assert zoo.load(out).zoo_metadata["parent"] == "tiny_vae"


def test_finetune_rejects_images_of_the_wrong_size(parent, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(3):
        Image.new("L", (32, 32)).save(folder / f"{i}.png")
    with pytest.raises(ValueError, match="resize"):
        finetune(parent, folder, tmp_path / "out", epochs=1, verbose=0)
    out = finetune(parent, folder, tmp_path / "out", epochs=1, verbose=0, resize=True, validation_split=0.0)
    assert zoo.load(out).zoo_metadata["metrics"][0]["split"] == "the 3 training images"


@pytest.mark.backend_free
def test_zoo_finetune_command(image_folder, parent, tmp_path):
    out = tmp_path / "cli_vae"
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "finetune", str(parent), "--data", str(image_folder),
                             "--epochs", "1", "--batch-size", "16", "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote the fine-tuned checkpoint" in result.stdout
    meta = json.loads((out / "metadata.json").read_text())["zoo"]
    assert meta["parent"] == "tiny_vae"
    assert meta["command"] == f"zoo finetune {parent} --data {image_folder} --epochs 1 --batch-size 16 --out {out}"


def test_a_gan_fine_tunes_and_keeps_its_last_epoch(image_folder, tmp_path):
    from zoo.models.gan import GAN, dcgan_critic, dcgan_generator

    keras.utils.set_random_seed(0)
    gan = GAN(dcgan_generator(8, 1, width=4), dcgan_critic(1, width=4, normalization=None), latent_dim=8,
              loss="wgan_gp", seed=0)
    parent = save_checkpoint(gan, tmp_path / "tiny_gan", {"name": "tiny_gan", "description": "A tiny GAN.",
                                                          "metrics": []})
    out = finetune(parent, image_folder, tmp_path / "my_gan", epochs=1, batch_size=16, learning_rate=1e-3,
                   verbose=0)
    tuned = zoo.load(out)
    assert not np.allclose(tuned.sample(2, seed=0), gan.sample(2, seed=0))
    keys = {m["key"] for m in tuned.zoo_metadata["metrics"]}
    assert {"critic_loss", "gradient_penalty", "generator_loss"} <= keys
    # Its BatchNorm generator samples with standing statistics, recorded in the card's metadata.
    assert tuned.zoo_metadata["standing_statistics"] == {"batches": 500, "batch_size": 16, "seed": 1}
    assert "averages over 500 batches of 16" in (out / "README.md").read_text()
