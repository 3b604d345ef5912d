"""Runs on one Keras backend (KERAS_BACKEND) for the cross-backend tests.

    python worker.py train_and_save OUT_DIR   # one WGAN-GP step from fixed weights; save a VAE checkpoint
    python worker.py publish CKPT REPO_ID     # zoo.publish a checkpoint folder to the Hub at HF_ENDPOINT
    python worker.py load LABEL=REF... OUT    # decode_logits of a fixed z for each checkpoint (folder or hf://)
"""

import sys
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.data.toy import eight_gaussians
from zoo.models.gan import WGANGP, mlp
from zoo.models.vae import VAE

N_CRITIC = 5
BATCH = 64


class FixedNoiseWGANGP(WGANGP):
    """WGAN-GP whose noise is given, so every backend draws the same numbers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rng = np.random.default_rng(7)
        self.latents = [rng.standard_normal((BATCH, 2)).astype("float32") for _ in range(N_CRITIC + 1)]
        self.uniforms = [rng.uniform(size=(BATCH,)).astype("float32") for _ in range(N_CRITIC)]

    def sample_latent(self, batch_size):
        return keras.ops.convert_to_tensor(self.latents.pop(0))

    def sample_uniform(self, shape):
        return keras.ops.convert_to_tensor(self.uniforms.pop(0))


def fixed_z():
    return np.random.default_rng(3).standard_normal((6, 4)).astype("float32")


def train_and_save(out_dir):
    out_dir = Path(out_dir)
    model = FixedNoiseWGANGP(mlp(2, 2, hidden=(16, 16), name="generator"),
                             mlp(2, 1, hidden=(16, 16), name="critic"), latent_dim=2)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.weights])
    adam = lambda: keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)  # noqa: E731
    model.compile(optimizers={"generator": adam(), "critic": adam()}, n_critic=N_CRITIC)
    real, _ = eight_gaussians(BATCH, seed=0)
    before = model.get_weights()
    logs = model.train_on_batch(real, return_dict=True)
    after = model.get_weights()
    moved = [np.abs(a - b).max() for a, b in zip(after, before)]
    n_generator = len(model.generator.weights)
    np.savez(out_dir / "wgan_step.npz", *after,
             generator_moved=np.array(max(moved[:n_generator])),
             critic_moved=np.array(max(moved[n_generator:])),
             penalty=np.array(float(logs["gradient_penalty"])))

    keras.utils.set_random_seed(0)
    vae = VAE(latent_dim=4, filters=(4, 8), hidden=16, seed=0)
    save_checkpoint(vae, out_dir / "vae", {"name": "vae", "description": "cross-backend test"})
    np.save(out_dir / "vae_logits.npy", vae.decode_logits(fixed_z()))


def load(refs, out):
    labelled = dict(ref.split("=", 1) for ref in refs)
    np.savez(out, **{label: zoo.load(ref).decode_logits(fixed_z()) for label, ref in labelled.items()})


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "train_and_save":
        train_and_save(*args)
    elif command == "publish":
        zoo.publish(*args)
    elif command == "load":
        load(args[:-1], args[-1])
    else:
        raise SystemExit(f"unknown command {command!r}")
