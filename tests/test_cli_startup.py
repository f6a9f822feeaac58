"""What a fresh process imports for `--version`, a key-only verify and a keyless one (start-up cost, not speed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sigverify.yaml"
KEYLESS = ROOT / "tests" / "policy" / "examples" / "positive" / "issue5-keyless.yaml"
HEAVY = ("requests", "jsonschema", "referencing", "sigstore", "sigstore_models", "yaml", "cryptography", "urllib3",
         "importlib.metadata")

_PROBE = """
import json, sys
from sigverify.cli import main
try:
    code = main({argv!r})
except SystemExit as e:
    code = e.code
{after}
heavy = {heavy!r}
print(json.dumps({{"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}}), file=sys.stderr)
"""


def _run(argv: list[str], cwd: Path, after: str = "") -> dict[str, object]:
    code = _PROBE.format(argv=argv, after=after, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)
    result: dict[str, object] = json.loads(proc.stderr.strip().splitlines()[-1])
    return result


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    assert _run(["--version"], tmp_path) == {"code": 0, "loaded": []}
    code = (
        "import sys\nfrom sigverify.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sigverify.models', 'sigverify.errors', 'dataclasses') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_command_lines_exit_codes_are_the_models() -> None:
    from sigverify.cli.main import EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE
    from sigverify.models import Exit

    assert (EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL) == (Exit.OK, Exit.FAIL, Exit.USAGE, Exit.INTERNAL)
    assert len(Exit) == 4


def test_key_only_layout_run_imports_no_http_schema_or_sigstore_library(tmp_path: Path) -> None:
    out = _run(["verify", "--config", str(EXAMPLE), "--quiet", "--ci", "none"], tmp_path)
    assert out == {"code": 0, "loaded": ["cryptography", "yaml"]}


def _unreachable_registry_config(tmp_path: Path) -> Path:
    """A key-only config whose one image is on a registry nobody listens on."""
    host = f"127.0.0.1:{_closed_port()}"
    (tmp_path / "cosign.pub").write_bytes((ROOT / "examples" / "keys" / "cosign.pub").read_bytes())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"version: 1\nimages: ['{host}/team/app:1']\nregistries: {{'{host}': {{insecure: true}}}}\n"
        "policies:\n  - name: p\n    match: ['**']\n    authorities:\n"
        "      - name: k\n        key: {path: cosign.pub}\n        tlog: ignore\n"
    )
    return cfg


def test_key_only_registry_run_imports_no_http_library(tmp_path: Path) -> None:
    cfg = _unreachable_registry_config(tmp_path)
    out = _run(["verify", "--config", str(cfg), "--quiet", "--ci", "none", "--timeout", "20"], tmp_path)
    # the registry is unreachable; with no proxy in the environment sigverify speaks HTTP on its own sockets
    assert out == {"code": 1, "loaded": ["cryptography", "yaml"]}


def test_a_proxy_in_the_environment_brings_in_urllib3(tmp_path: Path) -> None:
    cfg = _unreachable_registry_config(tmp_path)
    code = _PROBE.format(
        argv=["verify", "--config", str(cfg), "--quiet", "--ci", "none", "--timeout", "20"], after="", heavy=HEAVY
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HTTP_PROXY"] = f"http://127.0.0.1:{_closed_port()}"
    argv = [sys.executable, "-c", code]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    assert out["code"] == 1 and "urllib3" in out["loaded"] and "requests" not in out["loaded"]


def test_keyless_policy_warms_sigstore_in_the_background(tmp_path: Path) -> None:
    code = (
        "import sys, threading\n"
        "from sigverify.gate import _prewarm\n"
        "from sigverify.policy import load_config\n"
        f"config = load_config(__import__('pathlib').Path({str(KEYLESS)!r}))\n"
        "assert 'sigstore' not in sys.modules\n"
        "_prewarm(config)\n"
        "[t.join(60) for t in threading.enumerate() if t.name == 'sigverify-prewarm']\n"
        "print(sorted(m for m in ('sigstore.verify', 'sigstore.models') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "['sigstore.models', 'sigstore.verify']"
