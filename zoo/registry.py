"""The zoo's one table: model name -> description, family, builder, recipe, bundled checkpoint."""

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from zoo.errors import UnknownModelError

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    family: str
    build: Callable  # -> an untrained model with the recipe's architecture
    recipe: str

    @property
    def checkpoint_dir(self):
        return CHECKPOINTS / self.name


def _vae_mnist():
    from zoo.models.vae import VAE

    return VAE(image_shape=(28, 28, 1), latent_dim=32)


ENTRIES = {
    entry.name: entry
    for entry in [
        Entry(
            name="vae_mnist",
            description="Convolutional VAE (Kingma & Welling 2014) on dynamically binarized MNIST, 32-d latent.",
            family="vae",
            build=_vae_mnist,
            recipe="recipes/vae_mnist.py",
        ),
    ]
}


def get(name):
    """The entry for `name`; an unknown name lists the closest known ones."""
    try:
        return ENTRIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, ENTRIES, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Known models: {', '.join(sorted(ENTRIES))} "
            "(zoo.list_models() describes them); a path to a checkpoint folder also works."
        ) from None
