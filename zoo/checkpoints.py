"""Checkpoint folders: what Keras writes for `hf://`, plus a model card and the zoo's metadata.

    <name>/config.json         the model's Keras config (no pickles; loaded in safe mode)
    <name>/model.weights.h5    the weights
    <name>/metadata.json       Keras' metadata + "zoo": sha256 of the weights, metrics, recipe, ...
    <name>/README.md           the model card, Hub YAML front matter included

`keras.saving.load_model(folder)` and `keras.saving.load_model("hf://org/name")`
read it as they are; `load_checkpoint` adds the checks (files present,
checksum, format version) with errors that say what to do.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.cards import FORMAT_VERSION  # the card renderer checks it too; defined once there
from zoo.errors import CheckpointError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model, path, metadata, overwrite=False, repo_id=None):
    """Write `model` as a checkpoint folder at `path`; returns the path.

    `metadata` is the zoo's part of metadata.json (name, description, metrics,
    recipe, ...); the format version, versions, backend and the weights'
    sha256 are added here. Checkpoints hold weights, not optimizer state: a
    fresh copy of the model, never compiled, is what gets written. The folder is written next to `path` and renamed
    into place, so an interrupted save never leaves a broken checkpoint, and
    an existing one is replaced only with `overwrite=True`. `repo_id` is the
    Hub repository the model card's loading snippet points at. The weights
    are float32 under every float policy, and the config says float32 too:
    the precision a model computes in is the loading process's choice.
    """
    import keras

    from zoo import __version__
    from zoo.cards import render_card
    from zoo.trainers.precision import apply_dtype_policy

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        weights_only = apply_dtype_policy(type(model).from_config(model.get_config()), "float32")
        weights_only.set_weights(model.get_weights())
        keras.saving.save_model(weights_only, staging, zipped=False)
        keras_metadata = json.loads((staging / METADATA_FILE).read_text())
        keras_metadata["zoo"] = {
            "format_version": FORMAT_VERSION,
            "zoo_version": __version__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            **metadata,
            "weights_file": WEIGHTS_FILE,
            "weights_sha256": sha256(staging / WEIGHTS_FILE),
        }
        (staging / METADATA_FILE).write_text(json.dumps(keras_metadata, indent=2, sort_keys=True) + "\n")
        (staging / CARD_FILE).write_text(render_card(keras_metadata, repo_id=repo_id))
        _replace_dir(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _replace_dir(new, target):
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / "previous")
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old / "previous", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def read_metadata(path):
    """The zoo part of a checkpoint's metadata.json, checked for presence and version."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint folder (expected a folder holding {', '.join(REQUIRED_FILES)}).")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} is missing {', '.join(missing)}; a zoo checkpoint holds "
            f"{', '.join(REQUIRED_FILES)} and {CARD_FILE}. Re-download or re-save it."
        )
    try:
        metadata = json.loads((path / METADATA_FILE).read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path / METADATA_FILE} is not valid JSON ({e}); the checkpoint is damaged.") from None
    zoo_metadata = metadata.get("zoo") if isinstance(metadata, dict) else None
    if not isinstance(zoo_metadata, dict):
        raise CheckpointError(
            f"{path} is a Keras model folder but not a zoo checkpoint ({METADATA_FILE} has no 'zoo' "
            "entry); load it with keras.saving.load_model instead."
        )
    version = zoo_metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by keras-zoo {zoo_metadata.get('zoo_version', '?')} in checkpoint format "
            f"{version!r}; this keras-zoo reads formats up to {FORMAT_VERSION}. Upgrade keras-zoo."
        )
    return zoo_metadata


def verify_weights(path, zoo_metadata):
    """Raise CheckpointError unless the weights file has the sha256 recorded at save time."""
    expected = zoo_metadata.get("weights_sha256")
    actual = sha256(Path(path) / WEIGHTS_FILE)
    if actual != expected:
        raise CheckpointError(
            f"{Path(path) / WEIGHTS_FILE} fails its checksum (sha256 {actual}, expected {expected}): "
            "the file is truncated or altered. Delete the folder and download or save it again."
        )


def load_checkpoint(path, compile=True):
    """Load a checkpoint folder in Keras safe mode after checking files, version and checksum.

    With `compile=True` the model comes back compiled for fine-tuning, so
    `model.fit(x)` works at once. It computes in the precision of the global
    dtype policy (`keras.config.set_dtype_policy("mixed_bfloat16")` before
    loading gives a mixed-precision model; its weights stay float32).
    """
    import keras

    import zoo.models  # noqa: F401  registers the zoo's classes for deserialization
    from zoo.trainers.precision import apply_dtype_policy

    zoo_metadata = read_metadata(path)
    verify_weights(path, zoo_metadata)
    try:
        model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (ValueError, TypeError, OSError, KeyError) as e:
        raise CheckpointError(f"could not load the model in {path}: {e}") from e
    apply_dtype_policy(model)  # before compiling: under mixed_float16 the optimizers get loss scaling
    if compile and not model.compiled and hasattr(model, "compile_for_finetuning"):
        model.compile_for_finetuning()
    model.zoo_metadata = dict(zoo_metadata)
    if zoo_metadata.get("family") == "judge":
        from zoo.metrics.judges import mark_judge

        mark_judge(model)  # its layers refuse to join a training loss (zoo.metrics.judges.check_not_judge)
    return model
