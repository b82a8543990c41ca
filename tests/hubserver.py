"""A small Hugging Face Hub-compatible HTTP server on loopback, for testing the real huggingface_hub client.

It implements just what `create_repo`, `upload_folder` / `create_commit`, `repo_info`,
`list_repo_files` and `hf_hub_download` call, with the Hub's status codes, `X-Error-Code` headers
and download headers (`X-Repo-Commit`, `ETag`, `Content-Length`):

    POST /api/repos/create                              {name, organization, type, visibility, sdk}
    POST /api/validate-yaml                             README front matter check
    POST /api/{type}s/{repo}/preupload/{revision}       every file "regular" (no LFS here)
    POST /api/{type}s/{repo}/commit/{revision}          NDJSON: header, file, deletedFile
    GET  /api/{type}s/{repo}[/revision/{revision}]      repo info: sha, private, siblings
    GET  /api/{type}s/{repo}/tree/{revision}[/{path}]   file list
    HEAD|GET /[{type}s/]{repo}/resolve/{revision}/{path}

Every commit keeps a full snapshot, so any old sha still resolves. Writes, and reads of private
repos, need `Authorization: Bearer <token>`; every request line and body is kept in `requests` so
tests can check what the client sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import yaml

USER = "tester"
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
API = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(preupload|commit|revision|tree)/([^/]+)(/.*)?)?$")
RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def git_blob_sha(data: bytes) -> str:
    """The git object id of a file's content, which the client compares to skip unchanged files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    private: bool
    sdk: str | None
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> {path: content}
    log: list[str] = field(default_factory=list)  # shas, oldest first
    main: str = ""


class HubState:
    """Repos by (type, id), and the requests seen."""

    def __init__(self, token: str):
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[str] = []  # "METHOD path?query" plus the body, as text
        self.authorized: list[tuple[str, bool]] = []  # (request line, had the right token)
        self.lock = threading.Lock()

    def commit(self, repo: Repo, files: dict[str, bytes], message: str) -> str:
        sha = hashlib.sha1(f"{repo.main}\n{message}\n{time.time_ns()}".encode()).hexdigest()
        for path in sorted(files):
            sha = hashlib.sha1((sha + path + git_blob_sha(files[path])).encode()).hexdigest()
        repo.commits[sha], repo.main = files, sha
        repo.log.append(sha)
        return sha


class Handler(BaseHTTPRequestHandler):
    server: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest's output clean; requests are recorded instead
        pass

    # ---- plumbing ----------------------------------------------------------------------------

    @property
    def state(self) -> HubState:
        return self.server.state

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload=None, headers: dict[str, str] | None = None, body: bytes | None = None):
        if body is None:
            body = json.dumps(payload if payload is not None else {}).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.state.token}"

    def _record(self, body: bytes) -> None:
        line = f"{self.command} {self.path}"
        with self.state.lock:
            self.state.requests.append(f"{line}\n{body.decode('utf-8', 'replace')}")
            self.state.authorized.append((line, self._authorized()))

    def _repo(self, kind: str, repo_id: str, write: bool) -> Repo | None:
        repo = self.state.repos.get((kind, repo_id))
        if write and not self._authorized():
            self._error(401, None, "Invalid credentials in Authorization header")
            return None
        if repo is None or (repo.private and not self._authorized()):
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        return repo

    def _snapshot(self, repo: Repo, revision: str) -> tuple[str, dict[str, bytes]] | None:
        sha = repo.main if revision == "main" else revision
        if sha not in repo.commits:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return sha, repo.commits[sha]

    # ---- verbs -------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._record(b"")
        self._get()

    def do_GET(self) -> None:
        self._record(b"")
        self._get()

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        path = unquote(urlsplit(self.path).path)
        if path == "/api/repos/create":
            return self._create(json.loads(body))
        if path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(body))
        match = API.match(path)
        if not match or match[3] not in ("preupload", "commit"):
            return self._error(404, None, f"no route for POST {path}")
        kind, repo_id, action, revision = match[1][:-1], match[2], match[3], match[4]
        with self.state.lock:
            repo = self._repo(kind, repo_id, write=True)
            if repo is None:
                return None
            snapshot = self._snapshot(repo, revision)
            if snapshot is None:
                return None
            if action == "preupload":
                files = snapshot[1]
                answer = [
                    {
                        "path": f["path"],
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": git_blob_sha(files[f["path"]]) if f["path"] in files else None,
                    }
                    for f in json.loads(body)["files"]
                ]
                return self._send(200, {"files": answer, "commitOid": snapshot[0]})
            return self._commit(kind, repo_id, repo, snapshot, body)

    # ---- endpoints ---------------------------------------------------------------------------

    def _create(self, request: dict) -> None:
        if not self._authorized():
            return self._error(401, None, "Invalid credentials in Authorization header")
        kind = request.get("type") or "model"
        repo_id = f"{request.get('organization') or USER}/{request['name']}"
        url = f"{self.server.url}/{PREFIX[kind]}{repo_id}"
        with self.state.lock:
            if (kind, repo_id) in self.state.repos:
                return self._send(409, {"error": "You already created this repo", "url": url})
            repo = Repo(private=request.get("visibility") == "private", sdk=request.get("sdk"))
            self.state.repos[(kind, repo_id)] = repo
            self.state.commit(repo, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}, "init")
        return self._send(200, {"url": url, "name": repo_id})

    def _validate_yaml(self, request: dict) -> None:
        content = request.get("content", "")
        match = re.match(r"^---\n(.*?)\n---", content, re.S)
        try:
            metadata = yaml.safe_load(match[1]) if match else {}
        except yaml.YAMLError as err:
            return self._send(400, {"error": f"Invalid YAML in README.md: {err}"})
        if not isinstance(metadata, dict | None):
            return self._send(400, {"error": "README.md metadata must be a mapping"})
        return self._send(200, {"errors": [], "warnings": []})

    def _commit(self, kind: str, repo_id: str, repo: Repo, snapshot, body: bytes) -> None:
        files = dict(snapshot[1])
        message = ""
        for line in body.splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                message = value.get("summary", "")
            elif item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                files.pop(value["path"], None)
            elif item["key"] == "deletedFolder":
                files = {p: c for p, c in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            else:
                return self._error(400, None, f"unsupported commit operation {item['key']}")
        sha = self.state.commit(repo, files, message)
        url = f"{self.server.url}/{PREFIX[kind]}{repo_id}/commit/{sha}"
        return self._send(200, {"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": None})

    def _get(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if match := API.match(path):
            kind, repo_id, action, revision, rest = match[1][:-1], match[2], match[3], match[4] or "main", match[5]
            with self.state.lock:
                repo = self._repo(kind, repo_id, write=False)
                snapshot = repo and self._snapshot(repo, revision)
            if not snapshot:
                return None
            sha, files = snapshot
            if action == "tree":
                under = (rest or "").strip("/")
                entries = [
                    {"type": "file", "path": p, "oid": git_blob_sha(c), "size": len(c)}
                    for p, c in sorted(files.items())
                    if not under or p.startswith(under + "/")
                ]
                return self._send(200, entries)
            if action not in (None, "revision"):
                return self._error(404, None, f"no route for GET {path}")
            info = {"id": repo_id, "sha": sha, "private": repo.private, "siblings": [{"rfilename": p} for p in files]}
            if kind == "space":
                info["sdk"] = repo.sdk
            return self._send(200, info)
        if match := RESOLVE.match(path):
            kind = {"datasets": "dataset", "spaces": "space", None: "model"}[match[1]]
            with self.state.lock:
                repo = self._repo(kind, match[2], write=False)
                snapshot = repo and self._snapshot(repo, match[3])
            if not snapshot:
                return None
            sha, files = snapshot
            if match[4] not in files:
                return self._error(404, "EntryNotFound", f"{match[4]} does not exist on {match[3]}")
            content = files[match[4]]
            headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha(content)}"', "Accept-Ranges": "bytes"}
            return self._send(200, headers=headers, body=content)
        return self._error(404, None, f"no route for GET {path}")


class HubServer(ThreadingHTTPServer):
    """`with HubServer(token) as hub:` serves on 127.0.0.1 (a free port) in a thread; hub.url, hub.state."""

    daemon_threads = True

    def __init__(self, token: str):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = HubState(token)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering and close the port: the Hub is down from here on."""
        if self.thread.is_alive():
            self.shutdown()
        self.server_close()

    def files(self, kind: str, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.state.repos[(kind, repo_id)]
        return repo.commits[repo.main if revision == "main" else revision]

    def rows(self, kind: str, repo_id: str, name: str = "metadata.jsonl") -> list[dict]:
        """Every JSON line of every file called `name` in the repo's main revision."""
        files = self.files(kind, repo_id)
        return [json.loads(line) for path, data in files.items() if path.endswith(name) for line in data.splitlines()]
