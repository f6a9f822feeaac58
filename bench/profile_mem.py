"""Where sigverify's memory grows per image: tracemalloc snapshots of one `sigverify verify` run at two sizes.

    .venv/bin/python bench/profile_mem.py --images 200,1000      # top allocation sites of the growth, per image

Writes signed images straight into a local Debian `docker-registry`'s storage (bench/run.py populate_direct),
then runs `sigverify verify --format json --quiet --json FILE` in a child under tracemalloc for each size. The
child snapshots the heap when the verification stage returns (the RunResult alive, nothing rendered yet) and
records tracemalloc's peak over the whole run (reports included). The growth between the two sizes, grouped by
allocation site, divided by the image difference, is the memory each image costs. Everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

CHILD = r"""
import json, sys, tracemalloc
tracemalloc.start(int(sys.argv[2]))
import importlib
cli = importlib.import_module("sigverify.cli.main")
import sigverify.gate as gate
out = sys.argv[1]
real_run = gate.run
def run(*a, **k):
    result = real_run(*a, **k)
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    snap.dump(out + ".snap")
    json.dump({"after_verify": tracemalloc.get_traced_memory()[0]}, open(out + ".verify.json", "w"))
    return result
gate.run = run
code = cli.main(sys.argv[3:])
cur, peak = tracemalloc.get_traced_memory()
json.dump({"exit": code, "peak": peak, "after_verify": json.load(open(out + ".verify.json"))["after_verify"]},
          open(out, "w"))
"""


def main() -> int:
    import run as bench  # bench/run.py

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="200,1000", help="two sizes (default 200,1000)")
    ap.add_argument("--frames", type=int, default=12, help="traceback depth (default 12)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default: print only)")
    args = ap.parse_args()
    small, large = sorted(int(x) for x in args.images.split(","))
    with tempfile.TemporaryDirectory(prefix="sigverify-mem-") as tmp:
        work = Path(tmp)
        bench.SOURCE["cwd"] = str(work)
        reg = bench.start_registry(argparse.Namespace(auth="none"), work)
        try:
            paths, pub = bench.populate_direct(reg, large, work)
            net = bench.Net(0, reg.host, reg)
            stats = {}
            for n in (small, large):
                cfg = bench.write_config(work / f"mem-{n}.yaml", bench.refs_on(net, paths[:n]), net.host, pub)
                out = work / f"mem-{n}.json"
                argv = [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(out),
                    str(args.frames),
                    "verify",
                    "--config",
                    str(cfg),
                    "--format",
                    "json",
                    "--quiet",
                    "--json",
                    str(work / f"mem-{n}.report.json"),
                ]
                subprocess.run(argv, env=bench.sigverify_env(), cwd=work, check=False)
                stats[n] = json.loads(out.read_text())
        finally:
            reg.stop()
        import tracemalloc

        a = tracemalloc.Snapshot.load(str(work / f"mem-{small}.json.snap"))
        b = tracemalloc.Snapshot.load(str(work / f"mem-{large}.json.snap"))
        per = large - small
        rows = []
        for d in b.compare_to(a, "traceback")[: args.top]:
            frames = [f"{Path(f.filename).name}:{f.lineno}" for f in d.traceback if "sigverify" in f.filename]
            rows.append(
                {
                    "bytes_per_image": round(d.size_diff / per),
                    "count_per_image": round(d.count_diff / per, 2),
                    "sigverify_frames": frames[-4:],
                    "innermost": f"{d.traceback[-1].filename}:{d.traceback[-1].lineno}",
                }
            )
    result = {
        "images": [small, large],
        "traced_after_verify_bytes_per_image": round(
            (stats[large]["after_verify"] - stats[small]["after_verify"]) / per
        ),
        "traced_peak_bytes_per_image": round((stats[large]["peak"] - stats[small]["peak"]) / per),
        "exit": [stats[small]["exit"], stats[large]["exit"]],
        "top_growth": rows,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
