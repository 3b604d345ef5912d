"""A fake Hugging Face Hub on 127.0.0.1 for tests: stdlib only, state in memory.

It speaks enough of the Hub's HTTP API for the real ``huggingface_hub`` client (checked against 2.4.0):
create_repo / delete_repo, upload_folder / upload_file / create_commit (preupload always answers
``uploadMode: "regular"``, so contents come base64 in the NDJSON commit), model_info / repo_info,
list_repo_tree / list_repo_files / get_paths_info / list_repo_commits, list_repo_refs, create_tag /
delete_tag, create_branch / delete_branch, hf_hub_download and snapshot_download (HEAD/GET /resolve,
with Range support), whoami. Anything else answers 404 with a JSON error that names the method and path.

    with serve_hub(tmp_path) as hub:          # random free port, daemon thread, stops on exit
        hub.endpoint, hub.token, hub.repos    # url, write token, {repo_id: Repo}
        hub.fail_next(503, path="/resolve/")  # fault knobs, see FakeHub
        hub.interrupt_download("weights.bin")
        hub.tamper("ns/model", "weights.bin")
        hub.stop()                            # "network down": the port is closed from now on

Use the ``hub`` fixture (tests/hub_fixtures.py) to also point the client at it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

__all__ = ["Blob", "Commit", "FakeHub", "Repo", "closed_endpoint", "git_blob_oid", "serve_hub"]

LFS_THRESHOLD = 1024 * 1024  # files this big (or binary) are listed as LFS files, like on the Hub
_REVISION_SHA = re.compile(r"^[0-9a-f]{40}$")


def git_blob_oid(data: bytes) -> str:
    """git's blob id (what the Hub reports as `oid` / ETag for files not stored in LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def closed_endpoint() -> str:
    """A http://127.0.0.1:PORT url with nothing listening on PORT (connection refused): "network down"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ----------------------------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Blob:
    data: bytes = field(repr=False)
    size: int
    git_oid: str  # git blob id of the content (what preupload/no-op detection compares)
    sha256: str
    lfs: bool  # listed as an LFS file: ETag is the sha256, tree/siblings carry `lfs` info

    @classmethod
    def of(cls, data: bytes) -> Blob:
        data = bytes(data)
        lfs = len(data) >= LFS_THRESHOLD or b"\0" in data[:8000]
        return cls(data, len(data), git_blob_oid(data), hashlib.sha256(data).hexdigest(), lfs)

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @property
    def tree_oid(self) -> str:
        """The `oid` of the tree entry: git id of the LFS pointer for LFS files, of the content otherwise."""
        return git_blob_oid(self.pointer) if self.lfs else self.git_oid

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid

    def lfs_info(self) -> dict | None:
        return {"oid": self.sha256, "size": self.size, "pointerSize": len(self.pointer)} if self.lfs else None


@dataclass
class Commit:
    sha: str
    parent: str | None
    title: str
    message: str
    files: dict[str, Blob]
    date: str
    author: str


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    created_at: str = field(default_factory=_now)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    tags: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    commits: dict[str, Commit] = field(default_factory=dict)  # sha -> Commit (old commits stay readable)
    default_branch: str = "main"

    @property
    def head(self) -> str:
        return self.branches[self.default_branch]

    def resolve(self, revision: str | None) -> str | None:
        """Commit sha for a branch, tag, full commit sha or refs/heads/..., refs/tags/...; None if unknown."""
        rev = revision or self.default_branch
        if rev.startswith("refs/heads/"):
            return self.branches.get(rev[len("refs/heads/") :])
        if rev.startswith("refs/tags/"):
            return self.tags.get(rev[len("refs/tags/") :])
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if _REVISION_SHA.match(rev) and rev in self.commits:
            return rev
        return None

    def files(self, revision: str | None = None) -> dict[str, bytes]:
        """{path: bytes} at a revision (default branch by default)."""
        sha = self.resolve(revision)
        if sha is None:
            raise KeyError(f"{self.repo_id}: unknown revision {revision!r}")
        return {path: blob.data for path, blob in self.commits[sha].files.items()}

    def history(self, revision: str | None = None) -> list[Commit]:
        """Commits reachable from a revision, newest first."""
        sha = self.resolve(revision)
        out = []
        while sha is not None:
            commit = self.commits[sha]
            out.append(commit)
            sha = commit.parent
        return out


class _HttpError(Exception):
    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict | None = None, extra: dict | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, dict(headers or {})
        self.extra = dict(extra or {})  # more keys for the JSON body


@dataclass
class _Fault:
    status: int
    times: int | None
    method: str | None
    path: str | None
    code: str | None
    message: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or re.search(self.path, path) is not None
        )


@dataclass
class _Interrupt:
    filename: str | None
    at: int | None
    times: int | None


# ----------------------------------------------------------------------------------------------- server


class FakeHub:
    """In-memory Hub state plus the HTTP server that serves it. Create it with `serve_hub`.

    Inspect: `endpoint`, `token`, `username`, `repos` ({repo_id: Repo}), `requests` (list of
    (method, path_with_query, status) for every request served), `repo(repo_id)`.

    Knobs (all thread-safe, all cleared by `clear_faults()`):
      - `fail_next(status=500, times=1, method=None, path=None, error_code=None, message=None)`: the next
        `times` requests (None: all) whose method and path (a regex, searched) match get `status` with the Hub's
        error JSON (and `X-Error-Code` if given). `status=0` drops the connection without any answer.
        Beware: the client retries 5xx/429 and network errors with sleeps of 1, 2, 4, 8, 8 s on most calls.
      - `interrupt_download(filename=None, at=None, times=1)`: GET /resolve of `filename` (any file if None)
        sends the full Content-Length but only the bytes before offset `at` (default: half the file) and closes
        the connection. `times` responses are cut (None: every one). A Range request that starts at or after
        `at` gets 0 bytes. With times=1 the client retries and succeeds (with a Range request for what it kept:
        huggingface_hub 2.4 keeps only whole DOWNLOAD_CHUNK_SIZE (10 MB) chunks, so a smaller file restarts
        from 0 with a plain GET); with times=None it gives up after 5 retries, 1 s apart (patch
        `huggingface_hub.file_download.time.sleep` to skip the waits), raising httpx2.RemoteProtocolError.
      - `tamper(repo_id, filename, data=None)`: /resolve serves `data` (default: the committed bytes with every
        byte flipped, same length) instead of the committed content, with the committed ETag / X-Repo-Commit
        and a Content-Length that matches what is sent. Tree/paths-info/model_info keep the committed hashes.
      - `stop()`: shut the server down (listening socket and open connections closed): the endpoint's port then
        refuses connections. `closed_endpoint()` gives another such url without stopping anything.
      - `page_size`: entries per page for /tree and /commits (the client follows the `Link: rel="next"`).
    """

    def __init__(self, tmp_path: Path | str | None = None, token: str = "hf_test_token", username: str = "test-user"):
        self.token = token
        self.username = username
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.page_size = 1000
        self.log_path = Path(tmp_path) / "fake_hub_requests.log" if tmp_path is not None else None
        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._interrupts: list[_Interrupt] = []
        self._tampered: dict[tuple[str, str], bytes] = {}
        self._counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self.endpoint = ""
        # filled in by the `hub` fixture (tests/hub_fixtures.py)
        self.env: dict[str, str] = {}
        self.hf_home: Path | None = None
        self.cache_dir: Path | None = None

    # ---- lifecycle

    def start(self, max_lifetime: float = 600.0) -> FakeHub:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hub", daemon=True
        )
        self._thread.start()
        # Bounded: whatever happens to the test, the server shuts itself down after `max_lifetime` seconds.
        self._timer = threading.Timer(max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop serving: from now on connecting to `endpoint` is refused (simulates the network going down)."""
        with self._lock:
            server, self._server = self._server, None
        if server is None:
            return
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        server.shutdown()  # ends serve_forever (returns within poll_interval)
        server.server_close()  # closes the listening socket
        server.close_connections()  # keep-alive connections the client pooled would otherwise still be answered
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self.log_path.write_text("".join(f"{m} {p} -> {s}\n" for m, p, s in self.requests))

    def __enter__(self) -> FakeHub:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- knobs

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(_Fault(status, times, method, path, error_code, message))

    def interrupt_download(self, filename: str | None = None, *, at: int | None = None, times: int | None = 1) -> None:
        with self._lock:
            self._interrupts.append(_Interrupt(filename, at, times))

    def tamper(self, repo_id: str, filename: str, data: bytes | None = None) -> bytes:
        """Serve other bytes for `filename` of `repo_id` (every revision). Returns the bytes that will be served."""
        with self._lock:
            if data is None:
                original = self.repo(repo_id).files()[filename]
                data = original.translate(bytes(range(255, -1, -1))) if original else b"tampered"  # b ^ 0xFF
            self._tampered[(repo_id, filename)] = bytes(data)
            return bytes(data)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._interrupts.clear()
            self._tampered.clear()

    # ---- direct state access (no HTTP)

    def repo(self, repo_id: str) -> Repo:
        return self.repos[repo_id]

    def seed(
        self,
        repo_id: str,
        files: dict[str, bytes | str],
        *,
        private: bool = False,
        message: str = "seed",
        branch: str = "main",
    ) -> str:
        """Create the repo if needed and commit `files` to `branch` without going through HTTP. Returns the sha."""
        with self._lock:
            if repo_id not in self.repos:
                self._create_repo(repo_id, private)
            ops = [("file", p, d.encode() if isinstance(d, str) else bytes(d)) for p, d in files.items()]
            return self._commit(self.repos[repo_id], branch, message, "", ops).sha

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched `method` and the `path` regex so far."""
        return sum(
            1
            for m, p, _ in list(self.requests)
            if (method is None or m == method.upper()) and (path is None or re.search(path, p))
        )

    # ---- internals: state changes (call with the lock held)

    def _create_repo(self, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_id, private=private)
        self.repos[repo_id] = repo
        self._commit(repo, "main", "initial commit", "", [], new_branch=True)
        return repo

    def _commit(
        self, repo: Repo, branch: str, title: str, message: str, ops: list[tuple], new_branch: bool = False
    ) -> Commit:
        parent = None if new_branch else repo.branches[branch]
        files = dict(repo.commits[parent].files) if parent else {}
        for kind, path, payload in ops:
            if kind == "file":
                files[path] = payload if isinstance(payload, Blob) else Blob.of(payload)
            elif kind == "deletedFile":
                del files[path]
            elif kind == "deletedFolder":
                for p in [p for p in files if p.startswith(path.rstrip("/") + "/")]:
                    del files[p]
        self._counter += 1
        digest = hashlib.sha1(f"commit {self._counter}\n{repo.repo_id}\n{parent}\n{title}\n{message}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{files[path].git_oid}\n".encode())
        commit = Commit(digest.hexdigest(), parent, title, message, files, _now(), self.username)
        repo.commits[commit.sha] = commit
        repo.branches[branch] = commit.sha
        return commit

    def _next_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _next_interrupt(self, filename: str) -> _Interrupt | None:
        with self._lock:
            for rule in self._interrupts:
                if rule.filename is None or rule.filename == filename:
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._interrupts.remove(rule)
                    return rule
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for keep-alive handler threads on close
    allow_reuse_address = True
    hub: FakeHub

    def __init__(self, *args, **kwargs):
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_request(self):
        request, address = super().get_request()
        with self._conn_lock:
            self._connections.add(request)
        return request, address

    def shutdown_request(self, request):
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()


# ----------------------------------------------------------------------------------------------- HTTP


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    content_length: int | None = None  # declared length when it differs from len(body) (HEAD, interrupted GET)
    close: bool = False


def _json(obj, status: int = 200, headers: dict | None = None) -> _Response:
    return _Response(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the Hub; every response carries a Content-Length
    timeout = 15  # an idle or stalled connection frees its thread after this many seconds
    server: _Server

    # quiet: requests are recorded in hub.requests instead of printed
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def do_PATCH(self):
        self._serve()

    # ---- plumbing

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        hub = self.server.hub
        method = self.command
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        fault = hub._next_fault(method, split.path)
        if fault is not None and fault.status == 0:
            hub.requests.append((method, self.path, 0))
            self.close_connection = True
            return
        try:
            if fault is not None:
                raise _HttpError(fault.status, fault.message or f"fake hub: injected {fault.status}", fault.code)
            response = _Api(hub, self, method, split.path, parse_qs(split.query), body).route()
        except _HttpError as err:
            headers = {"X-Error-Message": err.message.encode("latin-1", "replace").decode("latin-1")}
            if err.code:
                headers["X-Error-Code"] = err.code
            response = _json({"error": err.message, **err.extra}, err.status, {**headers, **err.headers})
        except Exception as err:  # noqa: BLE001  (a bug in the fake: make it visible in the client's error)
            response = _json({"error": f"fake hub crashed on {method} {self.path}: {err!r}"}, 500)
        hub.requests.append((method, self.path, response.status))
        self._send(response, head=(method == "HEAD"))

    def _send(self, response: _Response, head: bool) -> None:
        try:
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, str(value))
            length = response.content_length if response.content_length is not None else len(response.body)
            self.send_header("Content-Length", str(length))
            if response.close:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                view = memoryview(response.body)
                for start in range(0, len(view), 1 << 20):
                    self.wfile.write(view[start : start + (1 << 20)])
            self.wfile.flush()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if response.close:
            self.close_connection = True  # the client sees the connection end before Content-Length bytes


class _Api:
    """One request: routing and the Hub's semantics."""

    def __init__(self, hub: FakeHub, handler: _Handler, method: str, raw_path: str, query: dict, body: bytes):
        self.hub, self.handler, self.method = hub, handler, method
        self.raw_path, self.query, self.body = raw_path, query, body
        self.segments = raw_path.split("/")[1:]  # still %-quoted: a quoted revision may contain "%2F"

    # ---- helpers

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json_body(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as err:
            raise _HttpError(400, f"fake hub: invalid JSON body: {err}") from None

    def caller(self) -> str | None:
        """The user name for a valid token, None for no token; 401 for a wrong one (like the Hub)."""
        auth = self.handler.headers.get("Authorization")
        if not auth:
            return None
        if auth == f"Bearer {self.hub.token}":
            return self.hub.username
        raise _HttpError(401, "Invalid credentials in Authorization header")

    def require_write(self) -> str:
        user = self.caller()
        if user is None:
            raise _HttpError(401, "Invalid username or password.")
        return user

    def get_repo(self, repo_id: str) -> Repo:
        user = self.caller()
        repo = self.hub.repos.get(repo_id)
        if repo is None or (repo.private and user is None):
            raise _HttpError(404, "Repository not found", "RepoNotFound")
        return repo

    def resolve(self, repo: Repo, revision: str | None) -> Commit:
        sha = repo.resolve(revision)
        if sha is None:
            raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[sha]

    def branch_of(self, repo: Repo, revision: str) -> str:
        name = revision.removeprefix("refs/heads/")
        if name not in repo.branches:
            raise _HttpError(
                404, f"Invalid rev id: {revision} (commits can only go to an existing branch)", "RevisionNotFound"
            )
        return name

    def url(self, repo_id: str, *parts: str) -> str:
        return "/".join([self.hub.endpoint, repo_id, *parts])

    # ---- routing

    def route(self) -> _Response:
        s, m = self.segments, self.method
        with self.hub._lock:
            if s[:1] == ["api"]:
                if s[1:] == ["whoami-v2"] and m == "GET":
                    return self.whoami()
                if s[1:] == ["repos", "create"] and m == "POST":
                    return self.create_repo()
                if s[1:] == ["repos", "delete"] and m == "DELETE":
                    return self.delete_repo()
                if s[1:] == ["validate-yaml"] and m == "POST":
                    return _json({"errors": [], "warnings": []})
                if len(s) >= 4 and s[1] == "models":
                    repo_id = f"{unquote(s[2])}/{unquote(s[3])}"
                    rest = s[4:]
                    action, args = (rest[0], rest[1:]) if rest else ("", [])
                    rev = unquote("/".join(args[:1])) if args else None
                    if action == "" and m == "GET":
                        return self.model_info(repo_id, None)
                    if action == "revision" and args and m == "GET":
                        return self.model_info(repo_id, unquote("/".join(args)))
                    if action == "preupload" and args and m == "POST":
                        return self.preupload(repo_id, rev)
                    if action == "commit" and args and m == "POST":
                        return self.commit(repo_id, rev)
                    if action == "tree" and args and m == "GET":
                        return self.tree(repo_id, rev, unquote("/".join(args[1:])))
                    if action == "paths-info" and args and m == "POST":
                        return self.paths_info(repo_id, rev)
                    if action == "refs" and not args and m == "GET":
                        return self.refs(repo_id)
                    if action == "commits" and args and m == "GET":
                        return self.commits(repo_id, rev)
                    if action == "tag" and args and m in ("POST", "DELETE"):
                        return self.create_tag(repo_id, rev) if m == "POST" else self.delete_tag(repo_id, rev)
                    if action == "branch" and args and m in ("POST", "DELETE"):
                        return self.create_branch(repo_id, rev) if m == "POST" else self.delete_branch(repo_id, rev)
                    if action == "settings" and not args and m == "PUT":
                        return self.settings(repo_id)
            elif len(s) >= 5 and s[2] == "resolve" and m in ("GET", "HEAD"):
                repo_id = f"{unquote(s[0])}/{unquote(s[1])}"
                return self.resolve_file(repo_id, unquote(s[3]), unquote("/".join(s[4:])))
        raise _HttpError(404, f"fake hub: no endpoint for {m} {self.raw_path}")

    # ---- endpoints

    def whoami(self) -> _Response:
        user = self.require_write()
        return _json(
            {
                "type": "user",
                "id": "0" * 24,
                "name": user,
                "fullname": "Test User",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "fake-hub", "role": "write"}},
            }
        )

    def create_repo(self) -> _Response:
        user = self.require_write()
        payload = self.json_body()
        repo_type = payload.get("type") or "model"
        if repo_type != "model":
            raise _HttpError(400, f"fake hub: only model repos are supported, not {repo_type!r}")
        name = payload.get("name")
        if not name:
            raise _HttpError(400, "fake hub: missing 'name'")
        repo_id = f"{payload.get('organization') or user}/{name}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        if repo_id in self.hub.repos:
            raise _HttpError(409, "You already created this model repo", extra={"url": self.url(repo_id)})
        self.hub._create_repo(repo_id, private)
        return _json({"url": self.url(repo_id), "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]})

    def delete_repo(self) -> _Response:
        user = self.require_write()
        payload = self.json_body()
        repo_id = f"{payload.get('organization') or user}/{payload.get('name')}"
        self.get_repo(repo_id)
        del self.hub.repos[repo_id]
        return _json({})

    def settings(self, repo_id: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        payload = self.json_body()
        if "private" in payload:
            repo.private = bool(payload["private"])
        if "visibility" in payload:
            repo.private = payload["visibility"] == "private"
        return _json({"private": repo.private})

    def model_info(self, repo_id: str, revision: str | None) -> _Response:
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        blobs = _truthy(self.q("blobs"))
        siblings = []
        for path in sorted(commit.files):
            sibling: dict = {"rfilename": path}
            if blobs:
                blob = commit.files[path]
                sibling.update(size=blob.size, blobId=blob.tree_oid)
                if blob.lfs:
                    sibling["lfs"] = {"size": blob.size, "sha256": blob.sha256, "pointerSize": len(blob.pointer)}
            siblings.append(sibling)
        namespace = repo_id.split("/")[0]
        return _json(
            {
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": namespace,
                "sha": commit.sha,
                "lastModified": commit.date,
                "createdAt": repo.created_at,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "spaces": [],
                "usedStorage": sum(b.size for b in commit.files.values()),
            }
        )

    def preupload(self, repo_id: str, revision: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        if _truthy(self.q("create_pr")):
            raise _HttpError(400, "fake hub: create_pr is not supported")
        commit = repo.commits[repo.branches[self.branch_of(repo, revision)]]
        files = []
        for item in self.json_body().get("files", []):
            existing = commit.files.get(item["path"])
            files.append(
                {
                    "path": item["path"],
                    "uploadMode": "regular",  # never LFS/Xet: contents come base64 in the commit
                    "shouldIgnore": False,
                    "oid": existing.git_oid if existing is not None else None,
                }
            )
        return _json({"files": files, "commitOid": commit.sha})

    def commit(self, repo_id: str, revision: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        if _truthy(self.q("create_pr")):
            raise _HttpError(400, "fake hub: create_pr is not supported")
        branch = self.branch_of(repo, revision)
        try:
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        except ValueError as err:
            raise _HttpError(400, f"fake hub: invalid NDJSON commit payload: {err}") from None
        if not lines or lines[0].get("key") != "header":
            raise _HttpError(400, "fake hub: the commit payload must start with a 'header' line")
        header = lines[0]["value"]
        parent = header.get("parentCommit")
        if parent is not None and parent != repo.branches[branch]:
            raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
        current = dict(repo.commits[repo.branches[branch]].files)
        ops: list[tuple] = []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = value.get("path", "")
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise _HttpError(400, f"fake hub: invalid path {path!r}")
            if key == "file":
                encoding = value.get("encoding", "utf-8")
                content = value.get("content", "")
                data = base64.b64decode(content) if encoding == "base64" else content.encode()
                ops.append(("file", path, data))
                current[path] = None  # type: ignore[assignment]
            elif key == "lfsFile":
                blob = self._find_lfs_blob(value.get("oid", ""))
                if blob is None:
                    message = (
                        f"LFS object {value.get('oid')} for {path!r} was never uploaded (preupload says 'regular')"
                    )
                    raise _HttpError(422, f"fake hub: {message}")
                ops.append(("file", path, blob))
                current[path] = blob
            elif key == "deletedFile":
                if path not in current:
                    raise _HttpError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                ops.append(("deletedFile", path, None))
                del current[path]
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                if not any(p.startswith(prefix) for p in current):
                    raise _HttpError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                ops.append(("deletedFolder", path, None))
                for p in [p for p in current if p.startswith(prefix)]:
                    del current[p]
            else:
                raise _HttpError(400, f"fake hub: unsupported commit operation {key!r}")
        new = self.hub._commit(repo, branch, header.get("summary") or "", header.get("description") or "", ops)
        return _json(
            {
                "success": True,
                "commitOid": new.sha,
                "commitUrl": self.url(repo_id, "commit", new.sha),
                "commitMessage": new.title,
                "hookOutput": "",
                "pullRequestUrl": None,
            }
        )

    def _find_lfs_blob(self, sha256: str) -> Blob | None:
        for repo in self.hub.repos.values():
            for commit in repo.commits.values():
                for blob in commit.files.values():
                    if blob.sha256 == sha256:
                        return blob
        return None

    def _file_entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        blob = commit.files[path]
        entry: dict = {"type": "file", "oid": blob.tree_oid, "size": blob.size, "path": path}
        if blob.lfs:
            entry["lfs"] = blob.lfs_info()
        if expand:
            entry["lastCommit"] = self._last_commit(repo, commit, lambda files: files.get(path))
            entry["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False}, "pickleImportScan": None}
        return entry

    def _dir_entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        prefix = path + "/"

        def sub(files):
            return tuple(sorted((p, b.git_oid) for p, b in files.items() if p.startswith(prefix)))

        entry: dict = {
            "type": "directory",
            "oid": hashlib.sha1(repr(sub(commit.files)).encode()).hexdigest(),
            "size": 0,
            "path": path,
        }
        if expand:
            entry["lastCommit"] = self._last_commit(repo, commit, sub)
        return entry

    def _last_commit(self, repo: Repo, commit: Commit, key) -> dict:
        last = commit
        for older in repo.history(commit.sha)[1:]:
            if key(older.files) != key(commit.files):
                break
            last = older
        return {"id": last.sha, "title": last.title, "date": last.date}

    def _page(self, items: list) -> _Response:
        size = max(1, int(self.q("limit") or self.hub.page_size))
        start = int(self.q("cursor") or 0)
        page = items[start : start + size]
        headers = {}
        if start + size < len(items):
            query = {k: v[0] for k, v in self.query.items()}
            query["cursor"] = str(start + size)
            headers["Link"] = f'<{self.hub.endpoint}{self.raw_path}?{urlencode(query)}>; rel="next"'
        return _json(page, headers=headers)

    def tree(self, repo_id: str, revision: str, path: str) -> _Response:
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        recursive, expand = _truthy(self.q("recursive")), _truthy(self.q("expand"))
        path = path.strip("/")
        prefix = path + "/" if path else ""
        if path and (path in commit.files or not any(p.startswith(prefix) for p in commit.files)):
            raise _HttpError(404, f"Entry not found: {path} is not a folder at {revision}", "EntryNotFound")
        dirs: set[str] = set()
        files: list[str] = []
        for p in sorted(commit.files):
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix) :].split("/")
            if recursive:
                dirs.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts)))
                files.append(p)
            elif len(parts) == 1:
                files.append(p)
            else:
                dirs.add(prefix + parts[0])
        entries = [self._dir_entry(repo, commit, d, expand) for d in sorted(dirs)]
        entries += [self._file_entry(repo, commit, f, expand) for f in files]
        return self._page(entries)

    def paths_info(self, repo_id: str, revision: str) -> _Response:
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        form = parse_qs(self.body.decode())
        if not form and self.body.strip().startswith(b"{"):
            form = {k: v if isinstance(v, list) else [v] for k, v in self.json_body().items()}
        expand = _truthy(str((form.get("expand") or ["false"])[0]))
        out = []
        for path in form.get("paths", []):
            path = str(path).strip("/")
            if path in commit.files:
                out.append(self._file_entry(repo, commit, path, expand))
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append(self._dir_entry(repo, commit, path, expand))
        return _json(out)

    def refs(self, repo_id: str) -> _Response:
        repo = self.get_repo(repo_id)

        def refs(kind, mapping):
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha} for n, sha in sorted(mapping.items())]

        return _json(
            {
                "branches": refs("heads", repo.branches),
                "converts": [],
                "tags": refs("tags", repo.tags),
                "pullRequests": [],
            }
        )

    def commits(self, repo_id: str, revision: str) -> _Response:
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        items = [
            {"id": c.sha, "title": c.title, "message": c.message, "authors": [{"user": c.author}], "date": c.date}
            for c in repo.history(commit.sha)
        ]
        return self._page(items)

    def create_tag(self, repo_id: str, revision: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        tag = self.json_body().get("tag")
        if not tag:
            raise _HttpError(400, "fake hub: missing 'tag'")
        if tag in repo.tags:
            raise _HttpError(409, f"Tag {tag} already exists")
        repo.tags[tag] = commit.sha
        return _json({"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": commit.sha})

    def delete_tag(self, repo_id: str, tag: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        if repo.tags.pop(tag, None) is None:
            raise _HttpError(404, f"Invalid rev id: {tag}", "RevisionNotFound")
        return _json({})

    def create_branch(self, repo_id: str, branch: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        start = self.json_body().get("startingPoint")
        commit = self.resolve(repo, start)
        if branch in repo.branches:
            raise _HttpError(409, f"Branch {branch} already exists")
        repo.branches[branch] = commit.sha
        return _json({})

    def delete_branch(self, repo_id: str, branch: str) -> _Response:
        self.require_write()
        repo = self.get_repo(repo_id)
        if branch not in repo.branches:
            raise _HttpError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        if branch == repo.default_branch:
            raise _HttpError(403, f"Cannot delete the default branch {branch}")
        del repo.branches[branch]
        return _json({})

    def resolve_file(self, repo_id: str, revision: str, filename: str) -> _Response:
        repo = self.get_repo(repo_id)
        commit = self.resolve(repo, revision)
        blob = commit.files.get(filename)
        if blob is None:
            raise _HttpError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        data = self.hub._tampered.get((repo_id, filename), blob.data)
        headers = {
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{blob.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename.rsplit('/', 1)[-1])}",
        }
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.etag}"'
            headers["X-Linked-Size"] = str(len(data))
        total, start, end, status = len(data), 0, len(data) - 1, 200
        range_header = self.handler.headers.get("Range")
        if range_header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
            if match is None or (not match.group(1) and not match.group(2)):
                raise _HttpError(416, f"fake hub: unsupported Range {range_header!r}")
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), total - 1) if match.group(2) else total - 1
            else:  # suffix range: the last N bytes
                start, end = max(0, total - int(match.group(2))), total - 1
            if start >= total or start > end:
                raise _HttpError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{total}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        body = data[start : end + 1]
        if self.method == "HEAD":
            return _Response(status, b"", headers, content_length=len(body))
        rule = self.hub._next_interrupt(filename)
        if rule is not None:
            cut = rule.at if rule.at is not None else total // 2
            sent = body[: max(0, cut - start)]
            return _Response(status, sent, headers, content_length=len(body), close=True)
        return _Response(status, body, headers)


@contextlib.contextmanager
def serve_hub(
    tmp_path: Path | str | None = None,
    token: str = "hf_test_token",
    *,
    username: str = "test-user",
    max_lifetime: float = 600.0,
) -> Iterator[FakeHub]:
    """Start a FakeHub on 127.0.0.1 (random free port, daemon thread); stop it on exit.

    The server also stops by itself after `max_lifetime` seconds. Its request log is written to
    `tmp_path / "fake_hub_requests.log"` when it stops (if `tmp_path` is given).
    """
    hub = FakeHub(tmp_path, token=token, username=username).start(max_lifetime=max_lifetime)
    try:
        yield hub
    finally:
        hub.stop()
