"""Where sigverify's CPU goes: cProfile in every thread of one `sigverify verify` run, summed by library.

    .venv/bin/python bench/profile_cpu.py [--images 200] [--rtt-ms 0] [--sigverify-rev REV] [--top 30]

Sets up the same registry and key-signed images as bench/run.py, then runs sigverify in a child process under
this file's ``--child`` mode, which patches ``threading.Thread.run`` so every worker thread gets its own
``cProfile.Profile`` timed by ``time.thread_time`` (CPU, not waiting; the stdlib profiler sees only the thread it
was started on), merges them with the main
thread's, and writes a .prof file. Prints self time by library (site-packages distribution, sigverify module,
stdlib module), the top functions by self time and by cumulative time, and writes
bench/results/profile.json. cProfile roughly doubles the CPU time; read the shares, not the totals.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import runpy
import sys
import sysconfig
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STDLIB = sysconfig.get_paths()["stdlib"]


def child(out: str, argv: list[str]) -> int:
    """Run ``python -m sigverify argv`` with a profiler in every thread; dump the merged stats to ``out``."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread, not wall time
        with lock:
            profiles.append(prof)
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    sys.argv = ["sigverify", *argv]
    code = 0
    main.enable()
    try:
        runpy.run_module("sigverify", run_name="__main__", alter_sys=True)
    except SystemExit as e:
        code = int(e.code or 0) if not isinstance(e.code, str) else 1
    finally:
        main.disable()
    stats = pstats.Stats(main)
    for p in profiles:
        p.create_stats()
        if getattr(p, "stats", None):
            stats.add(p)
    stats.dump_stats(out)
    return code


def library(filename: str) -> str:
    """The library a code object belongs to: a site-packages top-level package, a sigverify module, or stdlib."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C calls)" if filename.startswith("~") else filename
    p = filename.replace("\\", "/")
    if "/site-packages/" in p:
        return p.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/sigverify/" in p:
        rest = p.rsplit("/sigverify/", 1)[1]
        return "sigverify." + rest.split("/", 1)[0].removesuffix(".py")
    if p.startswith(STDLIB):
        rest = p[len(STDLIB) :].lstrip("/")
        return "stdlib." + rest.split("/", 1)[0].removesuffix(".py")
    return p


# entry points whose cumulative CPU says where the time goes (file suffix, function name, label)
ENTRY_POINTS = [
    ("sigverify/registry/transport.py", "send", "sigverify: Transport.send (all HTTP: retries, redirects, sockets)"),
    ("sigverify/registry/http1.py", "open", "registry.http1: DirectOpener.open (request head, status, headers)"),
    ("sigverify/registry/http1.py", "parse_headers", "registry.http1: parse_headers"),
    ("sigverify/registry/pool.py", "acquire", "registry.pool: OriginPool.acquire (incl. waiting for a slot)"),
    ("json/__init__.py", "loads", "json.loads"),
    ("<frozen importlib._bootstrap>", "_find_and_load", "imports"),
    ("sigverify/policy/loader.py", "load_config", "sigverify.policy.loader.load_config (YAML, schema, build)"),
    ("sigverify/discovery.py", "discover", "sigverify.discovery.discover (incl. its HTTP)"),
    ("sigverify/formats/cosign_sig/key.py", "verify", "sigverify.formats.cosign_sig.key verify (classic key .sig)"),
    ("sigverify/evaluate/__init__.py", "evaluate_policy", "sigverify.evaluate.evaluate_policy"),
    ("sigverify/gate.py", "_verify_image", "sigverify.gate._verify_image (one image, everything)"),
]


def entry_points(raw: dict[Any, Any], total: float) -> list[dict[str, Any]]:
    out = []
    for suffix, func, label in ENTRY_POINTS:
        ct = sum(v[3] for (f, _ln, n), v in raw.items() if f.endswith(suffix) and n == func)
        nc = sum(v[1] for (f, _ln, n), v in raw.items() if f.endswith(suffix) and n == func)
        out.append({"entry": label, "calls": nc, "cumulative_s": round(ct, 3), "share": round(ct / total, 3)})
    return out


def summarise(prof: Path, top: int) -> dict[str, Any]:
    stats = pstats.Stats(str(prof))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_lib: dict[str, float] = defaultdict(float)
    funcs = []
    total = 0.0
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in raw.items():
        lib = library(filename)
        if lib == "builtins (C calls)":
            lib = "builtins: " + name.split(" of ")[-1].strip("<>'").split("'")[0] if " of " in name else "builtins"
        by_lib[lib] += tt
        total += tt
        funcs.append(
            {
                "function": f"{filename}:{line}({name})",
                "library": lib,
                "calls": nc,
                "self_s": round(tt, 4),
                "cumulative_s": round(ct, 4),
            }
        )
    libs = sorted(by_lib.items(), key=lambda kv: -kv[1])
    return {
        "profiled_self_time_s": round(total, 3),
        "entry_points": entry_points(raw, total),
        "by_library": [{"library": k, "self_s": round(v, 3), "share": round(v / total, 3)} for k, v in libs],
        "top_self": sorted(funcs, key=lambda f: -f["self_s"])[:top],
        "top_cumulative": sorted(funcs, key=lambda f: -f["cumulative_s"])[:top],
    }


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--child"]:
        return child(args_in[1], args_in[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--rtt-ms", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=None)
    ap.add_argument("--sigverify-rev", metavar="REV")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "profile.json")
    ap.add_argument("--prof", type=Path, help="also keep the merged cProfile file here (for pstats / snakeviz)")
    a = ap.parse_args(args_in)
    sys.path.insert(0, str(HERE))
    import run as bench  # bench/run.py: registry, images, measuring

    with tempfile.TemporaryDirectory(prefix="sigverify-profile-") as tmp:
        work = Path(tmp)
        bench.SOURCE["cwd"] = str(work)
        if a.sigverify_rev:
            bench.use_revision(a.sigverify_rev, work)
        ns = argparse.Namespace(auth="none")
        reg = bench.start_registry(ns, work)
        try:
            paths, pub = bench.populate(reg, a.images, work)
            with bench.network(reg, a.rtt_ms, 1) as net:
                bench.bench_floor(net, paths, work, 16)  # warm the registry
                plain = bench.bench_sigverify(net, paths, pub, work, a.concurrency)
                refs = bench.refs_on(net, paths)
                cfg = bench.write_config(work / "profile.yaml", refs, net.host, pub)
                prof = work / "sigverify.prof"
                sv_argv = ["verify", "--config", str(cfg), "--format", "json", "--quiet"]
                if a.concurrency:
                    sv_argv += ["--concurrency", str(a.concurrency)]
                cmd = [bench.PY, str(Path(__file__).resolve()), "--child", str(prof), *sv_argv]
                code, wall, cpu, _rss = bench.run_child(cmd, bench.sigverify_env(), work / "profile.out")
                print(
                    f"unprofiled: {plain.wall_s:.2f}s wall, {plain.cpu_s:.2f}s CPU ({plain.note}); "
                    f"profiled: {wall:.2f}s wall, {cpu:.2f}s CPU, exit {code}",
                    file=sys.stderr,
                )
            summary = summarise(prof, a.top)
            if a.prof:
                a.prof.write_bytes(prof.read_bytes())
        finally:
            reg.stop()
    summary["meta"] = {
        "images": a.images,
        "rtt_ms": a.rtt_ms,
        "sigverify_commit": bench.SOURCE["rev"] or "work tree",
        "unprofiled": {"wall_s": round(plain.wall_s, 3), "cpu_s": plain.cpu_s, "note": plain.note},
        "profiled": {"wall_s": round(wall, 3), "cpu_s": cpu, "exit": code},
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "command": ".venv/bin/python bench/profile_cpu.py " + " ".join(args_in),
    }
    a.out.write_text(json.dumps(summary, indent=2) + "\n")
    total = summary["profiled_self_time_s"]
    print(f"\ncumulative CPU of entry points (share of profiled total {total:.2f}s):")
    for row in summary["entry_points"]:
        print(f"  {row['share'] * 100:5.1f}%  {row['cumulative_s']:7.3f}s  {row['calls']:6d}x  {row['entry']}")
    print(f"\nself time by library (profiled total {total:.2f}s):")
    for row in summary["by_library"][:25]:
        print(f"  {row['share'] * 100:5.1f}%  {row['self_s']:7.3f}s  {row['library']}")
    print("\ntop functions by cumulative time:")
    for f in summary["top_cumulative"][: a.top]:
        print(f"  {f['cumulative_s']:7.3f}s cum {f['self_s']:7.3f}s self {f['calls']:7d}x  {f['function']}")
    print("\ntop functions by self time:")
    for f in summary["top_self"][: a.top]:
        print(f"  {f['self_s']:7.3f}s self {f['calls']:7d}x  {f['function']}")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
