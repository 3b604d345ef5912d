"""The public entry points: `load` and `list_models`."""

from pathlib import Path

from zoo import registry
from zoo.checkpoints import load_checkpoint
from zoo.errors import CheckpointError

SOURCES = ("auto", "bundled", "hub")


def list_models():
    """`{name: one-line description}` of every model the zoo knows."""
    return {name: entry.description for name, entry in sorted(registry.ENTRIES.items())}


def load(name_or_path, revision=None, source="auto", compile=True):
    """A trained model, loaded in Keras safe mode after its weights' sha256 is checked.

    `name_or_path` is one of:
    - a zoo model name (`zoo.list_models()`): its bundled checkpoint, offline; with
      `source="hub"` the official copy on the Hub (`$ZOO_HUB_ORG/<name>`) instead;
    - `"hf://namespace/name"`: any zoo checkpoint on the Hugging Face Hub, at
      `revision` (branch, tag or commit sha) if given, through the HF cache;
    - a checkpoint folder on disk.
    With `compile=True` the model comes back ready for `fit`.
    """
    from zoo import hub

    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    name_or_path = str(name_or_path)
    if name_or_path.startswith("hf://"):
        return hub.load(name_or_path, revision=revision, compile=compile)
    if Path(name_or_path).is_dir():
        return load_checkpoint(name_or_path, compile=compile)
    entry = registry.get(name_or_path)
    if source == "hub" or revision is not None:
        return hub.load(hub.official_repo_id(entry.name), revision=revision, compile=compile)
    if not entry.checkpoint_dir.is_dir():
        if source == "bundled":
            raise CheckpointError(
                f"{entry.name} has no bundled checkpoint at {entry.checkpoint_dir}. Train one with "
                f"`python {entry.recipe}`, or install keras-zoo from its repository (pip install -e .).")
        try:
            return hub.load(hub.official_repo_id(entry.name), compile=compile)
        except CheckpointError as e:
            raise CheckpointError(
                f"{entry.name} has no bundled checkpoint at {entry.checkpoint_dir}, and its Hub copy "
                f"could not be loaded ({e}). Train it with `python {entry.recipe}`.") from None
    return load_checkpoint(entry.checkpoint_dir, compile=compile)
