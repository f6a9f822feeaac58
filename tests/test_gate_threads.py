"""A run leaves no thread of its own behind: a daemon thread still importing compiled extensions when the
interpreter finalises can abort the process (exit 134/139) after a correct report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CONFIG = """version: 1
images:
  - oci:{layout}:app-1.0
policies:
  - name: release
    match: ["oci:{layout}"]
    authorities:
      - name: ci
        keyless:
          issuer: https://token.actions.githubusercontent.com
          subject: https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0
"""

_PROBE = """
import sys, threading
from sigverify.cli import main
try:
    code = main(["verify", "--config", sys.argv[1], "--offline", "-q"])
except SystemExit as e:
    code = e.code
left = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive())
print(code, left)
"""


def test_a_keyless_run_joins_its_background_import_before_it_returns(tmp_path: Path) -> None:
    config = tmp_path / "sigverify.yaml"
    config.write_text(_CONFIG.format(layout=ROOT / "examples" / "oci-layout"))
    out = subprocess.run([sys.executable, "-c", _PROBE, str(config)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    code, _, left = out.stdout.strip().rpartition("\n")[2].partition(" ")
    assert code == "1", out  # the example is signed with a key, not by this identity
    assert "sigverify-prewarm" not in left, out
