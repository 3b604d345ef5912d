"""The Hugging Face Hub: publish zoo checkpoints, load them back through the HF cache.

A zoo checkpoint folder is what Keras itself writes for `hf://` (config.json,
model.weights.h5, metadata.json) plus README.md, the model card. `publish`
uploads it in one commit; `load` downloads it with `snapshot_download` (so the
usual `HF_HOME` / `HF_HUB_CACHE` / `HF_HUB_OFFLINE` / `HF_ENDPOINT` settings
apply), checks the weights' sha256 and loads in Keras safe mode.

The official copies live under the organisation named by `$ZOO_HUB_ORG`
(default `keras-zoo`); nothing is claimed to be published there that was not.
"""

import importlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from zoo.cards import DEFAULT_HUB_ORG, render_card
from zoo.checkpoints import (CARD_FILE, METADATA_FILE, REQUIRED_FILES, load_checkpoint, read_metadata,
                             save_checkpoint, verify_weights)
from zoo.errors import CheckpointError

CHECKPOINT_FILES = REQUIRED_FILES + (CARD_FILE,)
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# What a fine-tuned copy inherits from its parent's metadata; never the measured numbers.
_INHERITED = ("description", "paper", "family", "license", "dataset", "tags", "intended_use", "limitations")


def official_repo_id(name):
    """`<$ZOO_HUB_ORG>/<name>`: where the zoo's own copy of `name` lives on the Hub."""
    return f"{os.environ.get('ZOO_HUB_ORG') or DEFAULT_HUB_ORG}/{name}"


def repo_id_from(uri):
    """'hf://org/name' or 'org/name' -> 'org/name', with a clear error for anything else."""
    repo_id = uri[len("hf://"):] if uri.startswith("hf://") else uri
    if not _REPO_ID.match(repo_id):
        raise ValueError(f"expected a Hub repository as 'hf://namespace/name' or 'namespace/name'; got {uri!r}")
    return repo_id


def download(repo_id, revision=None):
    """The local folder of `repo_id` at `revision`, from the HF cache or the Hub."""
    import huggingface_hub
    from huggingface_hub import errors

    from zoo import __version__

    where = f"{repo_id}" + (f" at revision {revision!r}" if revision else "")
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision, allow_patterns=list(CHECKPOINT_FILES),
            library_name="keras-zoo", library_version=__version__)
    except errors.RevisionNotFoundError:
        raise CheckpointError(
            f"revision {revision!r} does not exist in Hub repository {repo_id}; "
            "give a branch, a tag or a commit sha of that repository.") from None
    except errors.RepositoryNotFoundError:
        raise CheckpointError(
            f"Hub repository {repo_id} was not found. Check the name; if it is private, log in "
            "with `hf auth login` or set HF_TOKEN.") from None
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, *_transport_errors()) as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        reason = "HF_HUB_OFFLINE is set" if offline else "the Hub could not be reached"
        raise CheckpointError(
            f"cannot load {where}: {reason} and it is not in the Hugging Face cache "
            f"({huggingface_hub.constants.HF_HUB_CACHE}). To work offline, load it once while "
            "online (that fills the cache), then set HF_HUB_OFFLINE=1; or pass a local "
            f"checkpoint folder to zoo.load. ({type(e).__name__}: {e})") from None
    except errors.HfHubHTTPError as e:
        raise CheckpointError(f"the Hub refused to serve {where}: {e}") from None
    return Path(folder)


def load(uri, revision=None, compile=True):
    """Load the zoo checkpoint at `hf://namespace/name` (optionally at a revision)."""
    repo_id = repo_id_from(uri)
    folder = download(repo_id, revision)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(
            f"hf://{repo_id} is not a zoo checkpoint: it has no {', '.join(missing)} "
            f"(a zoo checkpoint holds {', '.join(CHECKPOINT_FILES)}).")
    model = load_checkpoint(folder, compile=compile)
    model.zoo_metadata["source"] = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
    return model


def publish(model_or_folder, repo_id, *, metadata=None, private=False, token=None, commit_message=None):
    """Upload a model or a checkpoint folder to `repo_id` in one commit; returns the commit's URL.

    A checkpoint folder (e.g. `checkpoints/vae_mnist`) is uploaded as it is,
    after its checksum is verified. A model is first written as a checkpoint:
    a model loaded from the zoo and then fine-tuned keeps its parent's
    description, data and licence, names the parent, and carries no metrics
    unless `metadata` gives the ones you measured.
    """
    import huggingface_hub
    from huggingface_hub import errors

    repo_id = repo_id_from(repo_id)
    api = huggingface_hub.HfApi(token=token, library_name="keras-zoo")
    with tempfile.TemporaryDirectory() as staging:
        folder = Path(staging) / "checkpoint"
        if isinstance(model_or_folder, (str, os.PathLike)):
            source = Path(model_or_folder)
            verify_weights(source, read_metadata(source))
            folder.mkdir()
            for name in REQUIRED_FILES:
                shutil.copyfile(source / name, folder / name)
            card = render_card(json.loads((source / METADATA_FILE).read_text()), repo_id=repo_id)
            (folder / CARD_FILE).write_text(card)
        else:
            save_checkpoint(model_or_folder, folder, _publish_metadata(model_or_folder, metadata),
                            repo_id=repo_id)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id, folder_path=folder, allow_patterns=list(CHECKPOINT_FILES),
                commit_message=commit_message or f"Upload {repo_id.split('/')[-1]} with keras-zoo")
        except errors.HfHubHTTPError as e:
            status = getattr(e.response, "status_code", None)
            if status in (401, 403):
                raise CheckpointError(
                    f"the Hub refused to let you write to {repo_id} (HTTP {status}): log in with "
                    "`hf auth login`, or set HF_TOKEN to a token with write access.") from None
            raise CheckpointError(f"publishing to {repo_id} failed: {e}") from None
        except _transport_errors() as e:
            raise CheckpointError(f"publishing to {repo_id} failed: the Hub could not be reached ({e}).") from None
    return commit.commit_url


def _transport_errors():
    """Connection-level failures of whichever HTTP library this huggingface_hub uses."""
    found = [OSError]
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError"),
                         ("requests", "ConnectionError")):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def _publish_metadata(model, metadata):
    parent = getattr(model, "zoo_metadata", None) or {}
    inherited = {key: parent[key] for key in _INHERITED if key in parent}
    if parent:
        inherited["parent"] = parent.get("source") or parent.get("name")
        inherited["description"] = f"{parent.get('name', 'zoo model')} fine-tuned: {parent.get('description', '')}".strip()
    return {
        "name": parent.get("name", type(model).__name__.lower()),
        "description": f"{type(model).__name__} trained with keras-zoo",
        **inherited,
        **(metadata or {}),
    }
