"""pytest fixtures that point the real `huggingface_hub` client at a FakeHub (tests/hub_server.py).

    from hub_fixtures import hf_env, hub  # noqa: F401  (in a test module under tests/)

    def test_push(hub, hf_env):
        HfApi().create_repo("test-user/m")                      # goes to hub.endpoint, with hub.token
        subprocess.run([...], env={**os.environ, **hf_env})     # a child process uses it too

Why patching is needed: `huggingface_hub` reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE,
HF_HUB_DISABLE_XET, HF_HUB_DISABLE_TELEMETRY, ... once, when `huggingface_hub.constants` is imported, and
several values are copied at import time: `HUGGINGFACE_CO_URL_TEMPLATE` (used by hf_hub_url / hf_hub_download),
the module-level `HfApi` behind `huggingface_hub.model_info`, `create_repo`, `upload_folder`, ...
(`hf_api.api.endpoint`), `utils._http._HUB_ORIGINS`, `constants.HF_URL_HOSTS`, `utils._cache_manager.HF_HUB_CACHE`.
Setting the environment alone therefore only works for a fresh process; the `hub` fixture sets the environment
AND patches those values in-process, and restores everything at teardown.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

try:
    from hub_server import FakeHub, serve_hub
except ImportError:  # imported as tests.hub_fixtures
    from tests.hub_server import FakeHub, serve_hub

__all__ = ["hf_env", "hub", "point_client_at"]

# Environment that would make the client go elsewhere, use another token or cache, or refuse to connect.
_UNSET = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HUGGINGFACE_HUB_CACHE",
    "HUGGINGFACE_ASSETS_CACHE",
    "HUGGINGFACE_CO_STAGING",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    "HF_HUB_ENABLE_HF_TRANSFER",
    "HF_OIDC_RESOURCE",
    "HF_OIDC_ID_TOKEN",
    "HF_DEBUG",
)


def _env_for(fake: FakeHub, home: Path) -> dict[str, str]:
    no_proxy = ",".join(filter(None, ["127.0.0.1", "localhost", os.environ.get("NO_PROXY", "")]))
    return {
        "HF_ENDPOINT": fake.endpoint,
        "HF_TOKEN": fake.token,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_HUB_DISABLE_TELEMETRY": "1",  # also stops the user-agent's agent detection from calling the Hub
        "HF_HUB_DISABLE_XET": "1",  # plain HTTP downloads; upload_folder uses create_commit (one commit)
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }


def point_client_at(fake: FakeHub, home: Path, mp: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the environment and patch the already-imported client so that it talks to `fake`, with its token,
    and caches under `home`. Every change goes through `mp` (undone by `mp.undo()`). Returns the env vars set."""
    import huggingface_hub  # noqa: F401  (makes sure constants are read before we patch them)
    from huggingface_hub import constants
    from huggingface_hub.hf_api import HfApi
    from huggingface_hub.utils import _http

    env = _env_for(fake, home)
    for name in _UNSET:
        mp.delenv(name, raising=False)
    for name, value in env.items():
        mp.setenv(name, value)

    new = {
        "ENDPOINT": fake.endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": fake.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": env["HF_HOME"],
        "default_cache_path": env["HF_HUB_CACHE"],
        "HUGGINGFACE_HUB_CACHE": env["HF_HUB_CACHE"],
        "HF_HUB_CACHE": env["HF_HUB_CACHE"],
        "default_assets_cache_path": env["HF_ASSETS_CACHE"],
        "HUGGINGFACE_ASSETS_CACHE": env["HF_ASSETS_CACHE"],
        "HF_ASSETS_CACHE": env["HF_ASSETS_CACHE"],
        "default_xet_cache_path": env["HF_XET_CACHE"],
        "HF_XET_CACHE": env["HF_XET_CACHE"],
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "CHECK_FOR_UPDATE_DONE_PATH": str(home / ".check_for_update_done"),
        "CHECK_FOR_SKILL_UPDATE_DONE_PATH": str(home / ".check_for_skill_update_done"),
        "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
    }
    old = {name: getattr(constants, name) for name in new if hasattr(constants, name)}
    old_endpoint = constants.ENDPOINT

    # Copies made at import time (`from ..constants import ENDPOINT`, ...): same name, same old value.
    for mod_name, module in list(sys.modules.items()):
        if module is None or not (mod_name == "huggingface_hub" or mod_name.startswith("huggingface_hub.")):
            continue
        namespace = getattr(module, "__dict__", {})
        for name, value in list(namespace.items()):
            if name in old and isinstance(value, str) and value == old[name]:
                mp.setattr(module, name, new[name])
            elif isinstance(value, HfApi) and value.endpoint == old_endpoint:
                mp.setattr(value, "endpoint", fake.endpoint)  # hf_api.api, behind huggingface_hub.model_info & co
    for name, value in new.items():
        if hasattr(constants, name):
            mp.setattr(constants, name, value)

    host = fake.endpoint.split("://", 1)[1].split(":")[0]
    mp.setattr(constants, "HF_URL_HOSTS", frozenset(constants.HF_URL_HOSTS | {host}))
    mp.setattr(_http, "_HUB_ORIGINS", frozenset(_http._HUB_ORIGINS | {_http._url_origin(fake.endpoint)}))
    mp.setattr(constants, "HF_HUB_OFFLINE", False)
    mp.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    mp.setattr(constants, "HF_HUB_DISABLE_XET", True)
    mp.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", False)
    mp.setattr(constants, "HF_HUB_DISABLE_UPDATE_CHECK", True, raising=False)
    return env


@pytest.fixture
def hub(tmp_path):
    """A running FakeHub, with the client (this process and children that inherit os.environ) pointed at it.

    Sets HF_ENDPOINT, HF_TOKEN, HF_HOME (tmp_path/hf_home), HF_HUB_CACHE, HF_ASSETS_CACHE, HF_XET_CACHE,
    HF_HUB_DISABLE_TELEMETRY=1, HF_HUB_DISABLE_XET=1, HF_HUB_DISABLE_UPDATE_CHECK=1, NO_PROXY; removes
    HF_HUB_OFFLINE, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH and other overrides; patches the matching
    `huggingface_hub.constants` values and their import-time copies. Teardown stops the server, closes the
    client's pooled connections and restores everything.
    """
    from huggingface_hub.utils import _http

    home = tmp_path / "hf_home"
    with serve_hub(tmp_path) as fake, pytest.MonkeyPatch.context() as mp:
        fake.env = point_client_at(fake, home, mp)
        fake.hf_home = home
        fake.cache_dir = home / "hub"
        _http.close_session()  # no pooled connection from an earlier test
        try:
            yield fake
        finally:
            fake.stop()
            _http.close_session()


@pytest.fixture
def hf_env(hub) -> dict[str, str]:
    """The env vars a subprocess needs to use `hub`: run it with `env={**os.environ, **hf_env}`
    (os.environ is already cleaned of HF_HUB_OFFLINE & co by the `hub` fixture)."""
    return dict(hub.env)
