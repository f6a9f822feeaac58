"""INSECURE_REFUSED carries its tip (the `registries:` setting to add) through the gate into text and JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sigverify.cli import main


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_registry() -> Iterator[str]:
    """A registry that speaks plain HTTP only, on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _config(tmp_path: Path, host: str) -> Path:
    (tmp_path / "k.pub").write_bytes((Path(__file__).resolve().parents[2] / "examples/keys/cosign.pub").read_bytes())
    path = tmp_path / "sigverify.yaml"
    path.write_text(
        f"version: 1\nimages: ['{host}/app:1.0']\npolicies:\n  - name: p\n    match: ['{host}/**']\n"
        "    authorities: [{name: k, key: {path: k.pub}, tlog: ignore}]\n", encoding="utf-8")
    return path


def test_insecure_refused_names_the_setting_in_json_and_text(plain_registry: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, plain_registry)
    setting = f"registries: {{{plain_registry}: {{insecure: true}}}}"
    code = main(["verify", "--config", str(config), "--format", "json", "--ci", "none", "--timeout", "30"])
    doc = json.loads(capsys.readouterr().out)
    assert code != 0
    (image,) = doc["images"]
    (reason,) = image["reasons"]
    assert reason["code"] == "INSECURE_REFUSED"
    assert setting in reason["message"], reason["message"]
    code = main(["verify", "--config", str(config), "--ci", "none", "--timeout", "30"])
    out = capsys.readouterr().out
    assert code != 0 and "INSECURE_REFUSED" in out and setting in out, out
