"""The registry layer's bounds through the CLI: `--timeout`, hostile JSON from a registry, one token per scope."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.cli import main
from sigverify.registry.auth import pull_scope
from tests.fixtures.cosign_sign import KeyPair, generate_key, sign_image, signature_manifest
from tests.fixtures.registry import OCI_INDEX, OCI_MANIFEST, FakeServer, RegistryServer, Reply, unique_repo

DEEP = 200_000  # nesting levels of the hostile JSON documents
SLACK = 10.0  # generous ceiling over a bound under test, far below what the hostile servers would take


@pytest.fixture
def key() -> KeyPair:
    return generate_key("p256")


def write_config(tmp_path: Path, host: str, images: list[str], key: KeyPair, **settings: Any) -> Path:
    pub = key.write_public(tmp_path, "release.pub")
    doc = {
        "version": 1,
        "images": images,
        "registries": {host: {"insecure": True, **settings}},
        "policies": [{"name": "team", "match": [f"{host}/**"],
                      "authorities": [{"name": "release", "key": {"path": str(pub)}, "tlog": "ignore"}]}],
    }
    path = tmp_path / "sigverify.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(capsys: pytest.CaptureFixture[str], cfg: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", *extra])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def codes(image: dict[str, Any]) -> list[str]:
    return [r["code"] for r in image["reasons"]]


# -- --timeout: the whole run is bounded --------------------------------------------------------------------


class TrickleServer:
    """Answers every request with headers sent one byte every two seconds (issue 11's hostile server)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            for b in b"HTTP/1.1 200 OK\r\n" + b"X-Pad: a\r\n" * 100:
                if self.stopped.wait(2.0):
                    break
                conn.sendall(bytes([b]))
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    server = TrickleServer()
    yield server
    server.stop()


def test_timeout_bounds_the_whole_run(trickle: TrickleServer, tmp_path: Path, key: KeyPair,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    images = [f"{trickle.host}/team/app:v{i}" for i in range(3)]
    cfg = write_config(tmp_path, trickle.host, images, key)
    started = time.monotonic()
    code, doc, _ = run_cli(capsys, cfg, "--timeout", "2")
    assert time.monotonic() - started < 2 + SLACK
    assert code == 1
    assert [img["verdict"] for img in doc["images"]] == ["error"] * 3
    assert all(codes(img)[0] == "TIMEOUT" for img in doc["images"]), doc["images"]
    assert "--timeout" in doc["images"][0]["reasons"][0]["message"]


def test_after_the_run_bound_no_image_contacts_the_registry(trickle: TrickleServer, tmp_path: Path, key: KeyPair,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    images = [f"{trickle.host}/team/app:v{i}" for i in range(4)]
    cfg = write_config(tmp_path, trickle.host, images, key)
    code, doc, _ = run_cli(capsys, cfg, "--timeout", "1.5", "--concurrency", "1")
    assert code == 1
    assert all(img["verdict"] == "error" and codes(img)[0] == "TIMEOUT" for img in doc["images"])
    assert trickle.connections == 1  # the first image used the whole run; the others were not even sent


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf", "nan"])
def test_timeout_must_be_a_positive_number(value: str, tmp_path: Path, key: KeyPair,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "127.0.0.1:5000", ["127.0.0.1:5000/a:b"], key)
    assert main(["verify", "--config", str(cfg), "--timeout", value]) == 2
    assert "--timeout" in capsys.readouterr().err


# -- hostile JSON from a registry ---------------------------------------------------------------------------


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def deep_json(levels: int = DEEP) -> bytes:
    return b'{"schemaVersion": 2, "x": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


def test_deeply_nested_documents_are_errors_not_crashes(fake: FakeServer, tmp_path: Path, key: KeyPair,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A manifest, a signature manifest and a referrers reply nested 200,000 levels deep: each image is an
    `error` with REGISTRY_ERROR, the run exits 1 (never 3, never RecursionError)."""
    deep = deep_json()
    image = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","layers":[]}'
    image_digest = digest_of(image)
    hex_ = image_digest.split(":")[1]
    # v1: the tag's manifest itself (no digest in the HEAD answer, so it is fetched and parsed)
    fake.route("/v2/team/app/manifests/v1", Reply(200, {"Content-Type": OCI_MANIFEST}, deep))
    # v2: a good image whose cosign signature manifest is the hostile document
    fake.route("/v2/team/sig/manifests/v2", Reply(200, {"Content-Type": OCI_MANIFEST,
                                                         "Docker-Content-Digest": image_digest}, image))
    fake.route(f"/v2/team/sig/manifests/sha256-{hex_}.sig", Reply(200, {"Content-Type": OCI_MANIFEST}, deep))
    # v3: no classic signature; the referrers reply is the hostile document
    fake.route("/v2/team/ref/manifests/v3", Reply(200, {"Content-Type": OCI_MANIFEST,
                                                         "Docker-Content-Digest": image_digest}, image))
    fake.route(f"/v2/team/ref/referrers/{image_digest}", Reply(200, {"Content-Type": OCI_INDEX}, deep))
    images = [f"{fake.host}/team/app:v1", f"{fake.host}/team/sig:v2", f"{fake.host}/team/ref:v3"]
    cfg = write_config(tmp_path, fake.host, images, key)
    code, doc, err = run_cli(capsys, cfg, "--all-signatures")
    assert code == 1, err
    for img in doc["images"]:
        assert img["verdict"] == "error", img
        assert "REGISTRY_ERROR" in codes(img) and "INTERNAL_ERROR" not in codes(img), img
        assert any("nested deeper than 64 levels" in r["message"] for r in img["reasons"]), img
    looked = [s.path for s in fake.seen]
    assert f"/v2/team/ref/referrers/{image_digest}" in looked  # the referrers reply was really read
    assert "RecursionError" not in json.dumps(doc) + err


# -- token auth: one token per registry and scope for the whole run -------------------------------------------


def test_one_token_request_per_scope_across_images_and_threads(token_registry: RegistryServer, tmp_path: Path,
                                                                key: KeyPair, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    server = token_registry
    assert server.token_server is not None
    repos = [unique_repo("tok") for _ in range(3)]
    images = []
    for repo in repos:
        for i in range(5):
            digest, _ = server.push_image(repo, f"v{i}")
            art = signature_manifest(digest, [sign_image(key, digest)])
            for blob in art.blobs.values():
                server.push_blob(repo, blob)
            server.push_manifest(repo, art.tag, art.manifest, art.media_type)
            images.append(f"{server.host}/{repo}:v{i}")
    before = server.token_server.count(server.username)  # the registry is shared by the session's tests
    monkeypatch.setenv("TOK_USER", server.username)
    monkeypatch.setenv("TOK_PASS", server.password)
    cfg = write_config(tmp_path, server.host, images, key, username_env="TOK_USER", password_env="TOK_PASS")
    code, doc, err = run_cli(capsys, cfg, "--concurrency", "8")
    assert code == 0, (err, doc)
    assert [img["verdict"] for img in doc["images"]] == ["pass"] * len(images)
    for repo in repos:  # 5 images, 3 requests each, 8 threads: one token for the repository's pull scope
        assert server.token_server.count(server.username, pull_scope(repo)) == 1
    assert server.token_server.count(server.username) - before == len(repos)  # and no other token request


def _slow_signature(fake: FakeServer) -> str:
    """An image whose HEAD answers at once and whose `.sig` manifest body trickles in for two minutes."""
    image = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","layers":[]}'
    image_digest = digest_of(image)

    def trickle() -> Iterator[bytes]:
        for _ in range(1200):
            time.sleep(0.1)
            yield b" "

    fake.route("/v2/team/slow/manifests/v1", Reply(200, {"Content-Type": OCI_MANIFEST,
                                                          "Docker-Content-Digest": image_digest}, image))
    fake.route(f"/v2/team/slow/manifests/sha256-{image_digest.split(':')[1]}.sig",
               Reply(200, {"Content-Type": OCI_MANIFEST, "Content-Length": "1200"}, trickle, length=True))
    return f"{fake.host}/team/slow:v1"


def test_a_deadline_while_looking_for_signatures_never_passes(fake: FakeServer, tmp_path: Path, key: KeyPair,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, fake.host, [_slow_signature(fake)], key)
    started = time.monotonic()
    code, doc, _ = run_cli(capsys, cfg, "--timeout", "2")
    assert time.monotonic() - started < 2 + SLACK
    assert code == 1
    (img,) = doc["images"]
    assert img["verdict"] != "pass" and codes(img)[0] == "TIMEOUT", img


def test_a_deadline_while_looking_for_signatures_is_an_error(fake: FakeServer, tmp_path: Path, key: KeyPair,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, fake.host, [_slow_signature(fake)], key)
    code, doc, _ = run_cli(capsys, cfg, "--timeout", "2")
    assert code == 1 and doc["images"][0]["verdict"] == "error"
