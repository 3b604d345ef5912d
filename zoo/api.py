"""The public entry points: `load` and `list_models`."""

from pathlib import Path

from zoo import registry
from zoo.checkpoints import load_checkpoint
from zoo.errors import CheckpointError


def list_models():
    """`{name: one-line description}` of every model the zoo knows."""
    return {name: entry.description for name, entry in sorted(registry.ENTRIES.items())}


def load(name_or_path, compile=True):
    """A trained model: a zoo name (its bundled checkpoint) or a checkpoint folder on disk.

    Loading runs in Keras safe mode, after the weights' sha256 is checked.
    """
    name_or_path = str(name_or_path)
    if name_or_path.startswith("hf://"):
        raise CheckpointError(
            "loading from the Hugging Face Hub (hf://...) is not available in this version of "
            "keras-zoo; download the repository and pass its folder to zoo.load instead."
        )
    if Path(name_or_path).is_dir():
        return load_checkpoint(name_or_path, compile=compile)
    entry = registry.get(name_or_path)
    if not entry.checkpoint_dir.is_dir():
        raise CheckpointError(
            f"{entry.name} has no checkpoint at {entry.checkpoint_dir}. Train one with "
            f"`python {entry.recipe}`, or install keras-zoo from its repository (pip install -e .) "
            "so the bundled checkpoints are present."
        )
    return load_checkpoint(entry.checkpoint_dir, compile=compile)
