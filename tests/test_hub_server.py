"""The fake Hub (tests/hub_server.py) against the real huggingface_hub client: uploads, downloads, revisions,
errors, offline use from a subprocess, interrupted and tampered downloads."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from hub_server import closed_endpoint, serve_hub
from huggingface_hub import (
    HfApi,
    create_repo,
    create_tag,
    hf_hub_download,
    list_repo_refs,
    model_info,
    snapshot_download,
    upload_folder,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

pytestmark = pytest.mark.backend_free

pytest_plugins = ["hub_fixtures"]  # the `hub` and `hf_env` fixtures

REPO = "test-user/tiny-model"
FILES = {
    "config.json": json.dumps({"name": "tiny", "latent_dim": 4}).encode(),
    "weights.bin": bytes(range(256)) * (3 * 4096),  # 3 MiB, listed as an LFS file
    "README.md": b"---\nlicense: apache-2.0\n---\n# tiny model\n",
}


@pytest.fixture
def pushed(hub, tmp_path):
    """REPO created and FILES pushed with create_repo + upload_folder; returns the CommitInfo."""
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    create_repo(REPO)
    return upload_folder(folder_path=folder, repo_id=REPO, commit_message="add tiny model")


def _read(path):
    return Path(path).read_bytes()


def _run_python(code, env, tmp_path):
    return subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_create_repo_and_upload_folder_make_one_commit(hub, pushed):
    repo = hub.repos[REPO]
    assert [c.title for c in repo.history()] == ["add tiny model", "initial commit"]
    assert pushed.oid == repo.head and len(pushed.oid) == 40
    assert repo.files() == FILES
    assert create_repo(REPO, exist_ok=True).repo_id == REPO
    with pytest.raises(HfHubHTTPError) as err:
        create_repo(REPO)
    assert err.value.response.status_code == 409


def test_model_info_lists_the_siblings(pushed):
    info = model_info(REPO, files_metadata=True)
    assert info.id == REPO and info.sha == pushed.oid and info.private is False
    assert sorted(s.rfilename for s in info.siblings) == sorted(FILES)
    weights = next(s for s in info.siblings if s.rfilename == "weights.bin")
    assert weights.size == len(FILES["weights.bin"])
    assert weights.lfs.sha256 == hashlib.sha256(FILES["weights.bin"]).hexdigest()


def test_hf_hub_download_and_snapshot_download_give_identical_bytes(hub, pushed):
    single = {name: _read(hf_hub_download(REPO, name)) for name in FILES}
    folder = snapshot_download(REPO)
    snap = {name: _read(os.path.join(folder, name)) for name in FILES}
    assert single == snap == FILES
    assert os.path.basename(folder) == pushed.oid
    assert str(hub.cache_dir) in folder


def test_old_content_by_commit_sha_and_by_tag_after_a_second_commit(pushed):
    first = pushed.oid
    create_tag(REPO, tag="v1", revision=first)
    second = HfApi().upload_file(
        path_or_fileobj=b'{"name": "tiny", "latent_dim": 8}', path_in_repo="config.json", repo_id=REPO
    )
    assert second.oid != first

    def config(revision):
        return _read(hf_hub_download(REPO, "config.json", revision=revision))

    assert config("main") == b'{"name": "tiny", "latent_dim": 8}'
    assert config(first) == config("v1") == FILES["config.json"]
    assert model_info(REPO, revision="v1").sha == first
    refs = list_repo_refs(REPO)
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", first)]
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", second.oid)]


def test_missing_repo_revision_and_file_raise_the_clients_errors(hub, pushed):
    with pytest.raises(RepositoryNotFoundError):
        model_info("test-user/does-not-exist")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("test-user/does-not-exist", "config.json")
    with pytest.raises(RevisionNotFoundError):
        model_info(REPO, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "no-such-file.txt")
    hub.seed("test-user/secret", {"config.json": b"{}"}, private=True)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("test-user/secret", "config.json", token=False)
    assert _read(hf_hub_download("test-user/secret", "config.json")) == b"{}"


def test_upload_without_or_with_a_wrong_token_is_refused_with_401(hub, pushed, tmp_path):
    folder = tmp_path / "upload2"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    for token in (False, "hf_wrong_token"):
        with pytest.raises(HfHubHTTPError) as err:
            upload_folder(folder_path=folder, repo_id=REPO, token=token)
        assert err.value.response.status_code == 401
    assert hub.repos[REPO].head == pushed.oid


def test_a_subprocess_with_only_the_env_uses_the_fake_hub(pushed, hf_env, tmp_path):
    code = f"from huggingface_hub import hf_hub_download; print(hf_hub_download({REPO!r}, 'config.json'))"
    proc = _run_python(code, {**os.environ, **hf_env}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _read(proc.stdout.strip()) == FILES["config.json"]


def test_offline_subprocess_reads_the_cache_with_the_server_down(hub, pushed, hf_env, tmp_path):
    folder = snapshot_download(REPO)
    hub.stop()
    # in-process, server down (connection refused): cached files still come back
    assert _read(hf_hub_download(REPO, "config.json")) == FILES["config.json"]
    code = (
        "from huggingface_hub import hf_hub_download, snapshot_download\n"
        f"print(hf_hub_download({REPO!r}, 'weights.bin'))\n"
        f"print(snapshot_download({REPO!r}))\n"
    )
    proc = _run_python(code, {**os.environ, **hf_env, "HF_HUB_OFFLINE": "1"}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    weights_path, snapshot = proc.stdout.split()
    assert _read(weights_path) == FILES["weights.bin"]
    assert snapshot == folder


def _cache_state(hub):
    repo_dir = hub.cache_dir / f"models--{REPO.replace('/', '--')}"
    blobs = sorted(p.name for p in (repo_dir / "blobs").iterdir()) if (repo_dir / "blobs").is_dir() else []
    snapshot_files = sorted(p.name for p in (repo_dir / "snapshots").rglob("*") if p.is_file())
    return blobs, snapshot_files


def test_interrupted_download_raises_and_leaves_no_complete_file(hub, pushed, monkeypatch):
    from huggingface_hub import file_download

    sleeps = []
    monkeypatch.setattr(file_download.time, "sleep", sleeps.append)  # the client waits 1 s between resumes
    hub.interrupt_download("weights.bin", times=None)
    with pytest.raises(httpx2.RemoteProtocolError, match="peer closed connection"):
        hf_hub_download(REPO, "weights.bin")
    assert len(sleeps) == 5  # it tried to resume 5 times
    blobs, snapshot_files = _cache_state(hub)
    assert all(name.endswith(".incomplete") for name in blobs), blobs  # 2.4.0 even deletes its .incomplete
    assert snapshot_files == []
    hub.clear_faults()
    assert _read(hf_hub_download(REPO, "weights.bin")) == FILES["weights.bin"]


def test_download_interrupted_once_resumes_with_a_range_request(hub, pushed, monkeypatch):
    from huggingface_hub import file_download

    monkeypatch.setattr(file_download.time, "sleep", lambda s: None)
    # the client keeps what it received only in whole chunks (10 MB by default): smaller chunks for a 3 MB file
    monkeypatch.setattr(file_download.constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)
    hub.interrupt_download("weights.bin", times=1)
    assert _read(hf_hub_download(REPO, "weights.bin")) == FILES["weights.bin"]
    statuses = [s for m, p, s in hub.requests if m == "GET" and p.endswith("/weights.bin")]
    assert statuses == [200, 206]


def test_tampered_file_keeps_the_committed_headers(hub, pushed):
    served = hub.tamper(REPO, "weights.bin")
    path = hf_hub_download(REPO, "weights.bin")
    data = _read(path)
    assert data == served != FILES["weights.bin"] and len(data) == len(FILES["weights.bin"])
    committed_sha256 = hashlib.sha256(FILES["weights.bin"]).hexdigest()
    assert os.path.basename(os.path.realpath(path)) == committed_sha256  # cached under the committed ETag
    assert hashlib.sha256(data).hexdigest() != committed_sha256
    report = HfApi().verify_repo_checksums(REPO, cache_dir=hub.cache_dir)
    assert [m["path"] for m in report.mismatches] == ["weights.bin"]


def test_network_down_and_injected_errors(hub, pushed):
    with pytest.raises(httpx2.ConnectError):
        HfApi(endpoint=closed_endpoint()).model_info(REPO)
    hub.fail_next(403, path=r"^/api/models/", message="injected")
    with pytest.raises(HfHubHTTPError) as err:
        model_info(REPO)
    assert err.value.response.status_code == 403
    assert model_info(REPO).sha == pushed.oid  # only the next request failed


def test_tree_is_paged_and_unknown_endpoints_name_the_path(hub, pushed):
    hub.page_size = 2
    assert sorted(HfApi().list_repo_files(REPO)) == sorted(FILES)
    assert hub.request_count("GET", r"/tree/") == 2
    with pytest.raises(HfHubHTTPError) as err:
        list(HfApi().list_repo_likers(REPO))
    assert err.value.response.status_code == 404
    assert "/api/models/test-user/tiny-model/likers" in str(err.value)


def test_point_client_at_patches_the_client_and_restores_it(tmp_path):
    from hub_fixtures import point_client_at
    from huggingface_hub import constants, hf_api, hf_hub_url

    def state():
        return (
            constants.ENDPOINT,
            constants.HUGGINGFACE_CO_URL_TEMPLATE,
            hf_api.api.endpoint,
            constants.HF_HUB_CACHE,
            constants.HF_HUB_DISABLE_XET,
            os.environ.get("HF_ENDPOINT"),
        )

    before = state()
    with serve_hub(tmp_path) as fake, pytest.MonkeyPatch.context() as mp:
        point_client_at(fake, tmp_path / "hf_home", mp)
        assert constants.ENDPOINT == hf_api.api.endpoint == os.environ["HF_ENDPOINT"] == fake.endpoint
        assert hf_hub_url(REPO, "config.json") == f"{fake.endpoint}/{REPO}/resolve/main/config.json"
        assert constants.HF_HUB_CACHE == str(tmp_path / "hf_home" / "hub")
    assert state() == before
    assert not fake.running and not fake._thread.is_alive()
    with pytest.raises(httpx2.ConnectError):  # stopped: the port is closed
        HfApi(endpoint=fake.endpoint).model_info(REPO)
    assert (tmp_path / "fake_hub_requests.log").is_file()
