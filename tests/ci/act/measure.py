"""Measure the composite action under act: seconds from job start to the first verification done, cold vs warm pip.

    .venv/bin/python -m tests.ci.act.measure [--runs 2]

Cold: an empty pip cache (every locked wheel downloaded from PyPI); warm: the cache the cold run filled (what
actions/cache restores); local: every wheel already on disk, no index at all (the best a cache can do). Each run
is a fresh venv in a fresh job, as on a hosted runner. Prints a Markdown table. Not a test: numbers depend on the
machine and the network (pip caches nothing when a proxy strips the index's cache headers).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from pathlib import Path

from tests.ci.test_act import fill_wheels, make_scratch, run_act
from tests.fixtures.registry import RegistryServer


def seconds(log: str) -> float:
    start = float(re.findall(r"SIGVERIFY_ACT_JOB_START=([\d.]+)", log)[0])
    done = float(re.findall(r"SIGVERIFY_ACT_VERIFIED_AT=([\d.]+)", log)[0])
    return done - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sigverify-act-measure-"))
    (root / "r1").mkdir()
    (root / "r2").mkdir()
    plain = RegistryServer(root / "r1").start()
    auth = RegistryServer(root / "r2", auth="htpasswd").start()
    try:
        scratch = make_scratch(root / "scratch", plain, auth)
        results: dict[str, list[float]] = {"cold": [], "warm": [], "local": []}
        wheels = fill_wheels()
        for i in range(args.runs):
            cache = root / f"pip-{i}"
            for kind in ("cold", "warm", "local"):  # the warm run reuses the cache the cold run filled
                run = run_act(scratch, pip_cache=cache, job="pass", wheels=wheels if kind == "local" else None)
                assert run.returncode == 0, run.out[-3000:]
                results[kind].append(seconds(run.job("pass")))
                print(f"{kind} run {i + 1}: {results[kind][-1]:.1f} s", flush=True)
        cached = sum(f.stat().st_size for f in root.rglob("pip-*/**/*") if f.is_file())
        print(f"\npip cache after the cold runs: {cached} bytes")
        print("\n| pip cache | runs | job start to first verification (median, s) | min-max (s) |")
        print("|---|---|---|---|")
        for kind, xs in results.items():
            print(f"| {kind} | {len(xs)} | {statistics.median(xs):.1f} | {min(xs):.1f}-{max(xs):.1f} |")
    finally:
        plain.stop()
        auth.stop()


if __name__ == "__main__":
    main()
