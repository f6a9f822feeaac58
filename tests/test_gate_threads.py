"""A run leaves no thread of its own behind: a daemon thread still importing compiled extensions when the
interpreter finalises can abort the process (exit 134/139) after a correct report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_images_are_verified_in_threads_and_reported_in_their_order() -> None:
    import threading
    import time

    from sigverify.gate import _in_threads

    seen: set[str] = set()

    def work(target: object) -> object:
        seen.add(threading.current_thread().name)
        time.sleep(0.01 * (int(str(target)) % 3))  # finish out of order
        return f"result {target}"

    targets: Any = [str(i) for i in range(20)]
    results: Any = _in_threads(work, targets, 4)  # type: ignore[arg-type]
    assert results == [f"result {i}" for i in range(20)]
    assert len(seen) > 1 and all(name.startswith("sigverify_") for name in seen)
    assert not [t for t in threading.enumerate() if t.name.startswith("sigverify_")]


def test_an_unforeseen_exception_in_a_worker_reaches_the_caller_after_every_thread_stopped() -> None:
    import threading

    import pytest

    from sigverify.gate import _in_threads

    def work(target: object) -> object:
        if target == "3":
            raise RuntimeError("boom")
        return target

    with pytest.raises(RuntimeError, match="boom"):
        targets: Any = [str(i) for i in range(10)]
        _in_threads(work, targets, 3)  # type: ignore[arg-type]
    assert not [t for t in threading.enumerate() if t.name.startswith("sigverify_")]
