"""Benchmark: sigverify vs scripting cosign vs the raw-HTTP floor, on the same key-signed images (issue 8).

    /opt/sv-venv/bin/python bench/run.py                      # 200 images: the comparison table
    /opt/sv-venv/bin/python bench/run.py --images 50 --skip-cosign-per-image
    /opt/sv-venv/bin/python bench/run.py --scaling 50,200,1000  # sigverify + floor at several sizes, plot

Starts Debian's `docker-registry` on a free loopback port (its access log counts the requests of each phase),
pushes N small random images and signs each with a classic cosign key signature (made in Python by
tests/interop/classic_sign.py, byte-compatible with `cosign sign --key --tlog-upload=false`; every cosign run
below verifies them, which checks that), then measures in one run, on the same images:

  sigverify            one `sigverify verify` call over all images (its default concurrency unless --concurrency)
  cosign per image     `cosign verify` (v2) once per image, one after the other, as CI scripts do
  cosign one call      one `cosign verify` call with all images as arguments
  floor                bench/floor.py: a pooled HTTP client making only the essential requests (resolve the tag,
                       fetch the .sig manifest, fetch the payload blob) at the same concurrency, no crypto/policy:
                       requests.Session (the issue 8 floor, used for the targets) and, for reference, urllib3

Each is a child process: wall time, CPU time (user+sys from wait4), peak RSS (ru_maxrss), registry requests per
image (access-log lines during the phase). Prints a table; writes bench/results/latest.json (or scaling.json and
scaling.png with --scaling). Needs the peers (tests/peers/install.sh) for cosign; matplotlib (the `bench` extra)
for the plot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.peers import RegistryProcess, find_peer, offline_env  # noqa: E402
from tests.interop.classic_sign import new_key, sign_classic  # noqa: E402
from tests.interop.oci import Pusher  # noqa: E402

RESULTS = REPO / "bench" / "results"
PY = sys.executable
REPO_NAME = "bench/app"


# ---------------------------------------------------------------------------------------------------------------
# measuring child processes
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    processes: int = 0
    failures: int = 0  # child processes that exited non-zero
    requests: int = 0
    requests_per_image: float = 0.0
    registry_cpu_s: float = 0.0  # CPU the registry process spent serving this phase
    request_kinds: dict[str, int] = field(default_factory=dict)
    note: str = ""


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_child(argv: Sequence[str], env: dict[str, str], out: Path | None = None) -> tuple[int, float, float, float]:
    """Run one child; return (exit code, wall s, CPU s user+sys, peak RSS MB).

    CPU and RSS come from GNU time (/usr/bin/time) when present: a child forked straight from this (large)
    Python process inherits its RSS high-water mark on Linux, so wait4's ru_maxrss would report the bench's own
    size. Without GNU time, wait4 is used and the RSS is only an upper bound.
    """
    stats = Path(tempfile.mkstemp(prefix="sigverify-bench-time-")[1])
    full = [GNU_TIME, "-f", "%U %S %M", "-o", str(stats), *argv] if GNU_TIME else list(argv)
    stdout = out.open("wb") if out is not None else None
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(full, env=env, stdout=stdout or subprocess.DEVNULL,
                             stderr=stdout or subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout is not None:
            stdout.close()
    cpu, rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0
    if GNU_TIME:
        last = stats.read_text().strip().splitlines()[-1].split()  # "Command exited with non-zero status" first
        cpu, rss = float(last[0]) + float(last[1]), int(last[2]) / 1024.0
    stats.unlink(missing_ok=True)
    return p.returncode, wall, cpu, rss


def classify(line: str) -> str:
    try:
        method, path = line.split('"', 2)[1].split()[:2]
    except (IndexError, ValueError):
        return "other"
    if path.rstrip("/") == "/v2":
        return f"{method} /v2/ ping"
    if "/referrers/" in path:
        return f"{method} referrers"
    if "/blobs/" in path:
        return f"{method} blob"
    if "/manifests/" in path:
        ref = path.rsplit("/", 1)[1].split("?")[0]
        if ref.startswith("sha256:"):
            return f"{method} manifest by digest"
        if ref.endswith(".sig"):
            return f"{method} .sig tag"
        if ref.endswith(".att"):
            return f"{method} .att tag"
        if ref.startswith("sha256-"):
            return f"{method} referrers tag"
        return f"{method} manifest by tag"
    if "/tags/list" in path:
        return f"{method} tags list"
    return f"{method} other"


class Phase:
    """Counts the registry's access-log lines written while a phase runs."""

    def __init__(self, reg: RegistryProcess) -> None:
        self.reg = reg
        self.start = 0
        self.cpu0 = 0.0
        self.cpu = 0.0

    def _registry_cpu(self) -> float:
        if self.reg.proc is None:
            return 0.0
        fields = Path(f"/proc/{self.reg.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def __enter__(self) -> Phase:
        time.sleep(0.2)
        self.start = len(self.reg.access_lines())
        self.cpu0 = self._registry_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # let the registry flush the last lines
        self.lines = self.reg.access_lines()[self.start:]
        self.cpu = self._registry_cpu() - self.cpu0

    def fill(self, m: Measure, images: int) -> Measure:
        m.registry_cpu_s = round(self.cpu, 2)
        m.requests = len(self.lines)
        m.requests_per_image = round(len(self.lines) / max(images, 1), 2)
        m.request_kinds = dict(Counter(classify(ln) for ln in self.lines).most_common())
        return m


# ---------------------------------------------------------------------------------------------------------------
# setup
# ---------------------------------------------------------------------------------------------------------------


def populate(reg: RegistryProcess, n: int, workdir: Path, workers: int = 8) -> tuple[list[str], Path]:
    """Push n random images (tags img-00000...) each signed by one key; return the references and the key."""
    key, pub_pem = new_key()
    pub = workdir / "cosign.pub"
    pub.write_bytes(pub_pem)
    local = threading.local()

    def one(i: int) -> str:
        pusher = getattr(local, "p", None)
        if pusher is None:
            pusher = local.p = Pusher(reg.host, user_agent="sigverify-bench-setup")
        tag = f"img-{i:05d}"
        digest = pusher.random_image(REPO_NAME, tag)
        sign_classic(pusher, REPO_NAME, digest, key)
        return f"{reg.host}/{REPO_NAME}:{tag}"

    with ThreadPoolExecutor(max_workers=workers) as ex:
        refs = list(ex.map(one, range(n)))
    return refs, pub


def write_config(path: Path, refs: list[str], host: str, pub: Path) -> Path:
    import yaml

    cfg = {
        "version": 1,
        "images": refs,
        "registries": {host: {"insecure": True}},
        "policies": [
            {
                "name": "bench",
                "match": [f"{host}/**"],
                "authorities": [{"name": "release", "key": {"path": str(pub)}, "tlog": "ignore"}],
            }
        ],
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def sigverify_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for k in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_STEP_SUMMARY"):  # no CI side effects in the bench
        env.pop(k, None)
    return env


def trusted_root() -> str:
    import sigstore

    return str(Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" /
               "trusted_root.json")


# ---------------------------------------------------------------------------------------------------------------
# the contenders
# ---------------------------------------------------------------------------------------------------------------


def bench_sigverify(reg: RegistryProcess, refs: list[str], pub: Path, work: Path, concurrency: int | None,
                    name: str = "sigverify") -> Measure:
    cfg = write_config(work / f"{name}-{len(refs)}.yaml", refs, reg.host, pub)
    argv = [PY, "-m", "sigverify", "verify", "--config", str(cfg), "--format", "json", "--quiet",
            "--json", str(work / f"{name}-{len(refs)}.report.json")]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    with Phase(reg) as ph:
        code, wall, cpu, rss = run_child(argv, sigverify_env(), work / f"{name}.out")
    m = ph.fill(Measure(name, wall, cpu, rss, 1, int(code != 0)), len(refs))
    report = json.loads((work / f"{name}-{len(refs)}.report.json").read_text()) if code in (0, 1) else {}
    passed = sum(1 for im in report.get("images", []) if im.get("verdict") == "pass")
    m.note = f"{passed}/{len(refs)} pass, exit {code}"
    if passed != len(refs):
        m.failures = max(m.failures, 1)
    return m


def cosign_argv(cosign: str, pub: Path) -> list[str]:
    return [cosign, "verify", "--key", str(pub), "--insecure-ignore-tlog=true", f"--trusted-root={trusted_root()}",
            "--allow-insecure-registry", "--allow-http-registry", "--output", "json"]


def bench_cosign_per_image(reg: RegistryProcess, refs: list[str], pub: Path, work: Path, cosign: str) -> Measure:
    env = offline_env(work / "cosign-home")
    m = Measure("cosign verify per image")
    t0 = time.perf_counter()
    with Phase(reg) as ph:
        for ref in refs:
            code, _wall, cpu, rss = run_child([*cosign_argv(cosign, pub), ref], env)
            m.cpu_s += cpu
            m.peak_rss_mb = max(m.peak_rss_mb, rss)
            m.processes += 1
            m.failures += int(code != 0)
    m.wall_s = time.perf_counter() - t0 - 0.5  # minus the Phase's settle sleeps
    ph.fill(m, len(refs))
    m.note = f"{len(refs) - m.failures}/{len(refs)} pass"
    return m


def bench_cosign_one_call(reg: RegistryProcess, refs: list[str], pub: Path, work: Path, cosign: str) -> Measure:
    env = offline_env(work / "cosign-home")
    with Phase(reg) as ph:
        code, wall, cpu, rss = run_child([*cosign_argv(cosign, pub), *refs], env, work / "cosign-one.out")
    m = ph.fill(Measure("cosign verify, all images in one call", wall, cpu, rss, 1, int(code != 0)), len(refs))
    m.note = f"exit {code}"
    return m


def bench_floor(reg: RegistryProcess, refs: list[str], work: Path, concurrency: int,
                client: str = "requests") -> Measure:
    refs_file = work / f"floor-{len(refs)}.txt"
    refs_file.write_text("\n".join(r.split("/", 1)[1] for r in refs))
    argv = [PY, str(REPO / "bench" / "floor.py"), "--registry", reg.host, "--concurrency", str(concurrency),
            "--refs-file", str(refs_file), "--client", client]
    with Phase(reg) as ph:
        code, wall, cpu, rss = run_child(argv, dict(os.environ), work / "floor.out")
    name = "raw-HTTP floor (requests.Session)" if client == "requests" else f"raw-HTTP floor ({client} pool)"
    m = ph.fill(Measure(name, wall, cpu, rss, 1, int(code != 0)), len(refs))
    m.note = (work / "floor.out").read_text().strip()[-80:]
    return m


def startup_times(reg: RegistryProcess, refs: list[str], pub: Path, work: Path) -> dict[str, float]:
    env = sigverify_env()
    versions = [run_child([PY, "-m", "sigverify", "--version"], env)[1] for _ in range(5)]
    cold = bench_sigverify(reg, refs[:1], pub, work, None, name="sigverify-one")
    return {"sigverify --version (median of 5), s": round(statistics.median(versions), 3),
            "sigverify one image, s": round(cold.wall_s, 3),
            "sigverify one image, requests": cold.requests}


# ---------------------------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------------------------


def table(rows: list[Measure], base: Measure, floor: Measure | None) -> str:
    head = ["", "wall s", "CPU s", "peak RSS MB", "req/image", "registry CPU s", "sigverify faster by"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in rows:
        ratio = "-" if m is base else f"{m.wall_s / base.wall_s:.1f}x"
        if m is floor or m.name.startswith("raw-HTTP"):
            ratio = f"sigverify/this = {base.wall_s / m.wall_s:.2f}"
        fail = f" ({m.failures} failed)" if m.failures else ""
        lines.append(f"| {m.name}{fail} | {m.wall_s:.2f} | {m.cpu_s:.2f} | {m.peak_rss_mb:.0f} | "
                     f"{m.requests_per_image:g} | {m.registry_cpu_s:.2f} | {ratio} |")
    return "\n".join(lines)


def tool_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "?"
    for ln in out.splitlines():
        if ln.startswith("GitVersion"):
            return ln.split(":", 1)[1].strip()
    return Path(binary).resolve().name


def meta(args: argparse.Namespace, cosign: str | None) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(sys.argv[1:]),
        "sigverify_commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                           capture_output=True, text=True).stdout.strip() or None,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]},
        "registry": "Debian docker-registry (distribution 2.8), plain HTTP on loopback, no auth, filesystem storage",
        "signatures": "classic cosign key signatures (.sig tag), one per image, made by tests/interop/classic_sign.py",
        "cosign": f"{cosign} ({tool_version(cosign)})" if cosign else None,
        "concurrency": args.concurrency or "sigverify default",
        "repeat": getattr(args, "repeat", 1),
    }


# ---------------------------------------------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------------------------------------------


def median_of(runs: list[Measure]) -> Measure:
    """The run with the median wall time, annotated with the spread (the machine may be shared and noisy)."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    m = ordered[len(ordered) // 2]
    if len(runs) > 1:
        m.note += f"; median of {len(runs)}, wall {ordered[0].wall_s:.2f}-{ordered[-1].wall_s:.2f}s"
    m.failures = max(r.failures for r in runs)
    return m


def compare(args: argparse.Namespace, reg: RegistryProcess, work: Path) -> dict[str, Any]:
    cosign = find_peer("cosign2")
    t0 = time.perf_counter()
    refs, pub = populate(reg, args.images, work)
    print(f"pushed and signed {len(refs)} images in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    conc = args.concurrency or 16
    bench_floor(reg, refs, work, conc)  # warm-up: the registry's caches see every object once before measuring
    if cosign is None:
        print("cosign2 not found: run tests/peers/install.sh (cosign rows skipped)", file=sys.stderr)
    runs: dict[str, list[Measure]] = {"sv": [], "one": [], "floor": [], "floor3": []}
    for r in range(args.repeat):  # interleaved, so load changes on a shared machine hit every contender alike
        runs["sv"].append(bench_sigverify(reg, refs, pub, work, args.concurrency))
        if cosign is not None:
            runs["one"].append(bench_cosign_one_call(reg, refs, pub, work, cosign))
        runs["floor"].append(bench_floor(reg, refs, work, conc))
        runs["floor3"].append(bench_floor(reg, refs, work, conc, client="urllib3"))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1].wall_s:.2f}s" for k, v in runs.items() if v),
              file=sys.stderr)
    sv, floor = median_of(runs["sv"]), median_of(runs["floor"])
    rows: list[Measure] = [sv]
    if cosign is not None:
        if not args.skip_cosign_per_image:
            rows.append(bench_cosign_per_image(reg, refs, pub, work, cosign))
            print(f"  cosign per image: {rows[-1].wall_s:.2f}s", file=sys.stderr)
        rows.append(median_of(runs["one"]))
    rows.append(floor)
    rows.append(median_of(runs["floor3"]))
    extra = startup_times(reg, refs, pub, work)
    targets = {
        "sigverify wall <= 1.5x floor": sv.wall_s <= 1.5 * floor.wall_s,
        "sigverify requests/image <= 3": sv.requests_per_image <= 3,
        "sigverify --version < 0.15 s": extra["sigverify --version (median of 5), s"] < 0.15,
        "one image cold < 0.5 s": extra["sigverify one image, s"] < 0.5,
    }
    for m in rows:
        if m.name == "cosign verify per image":
            targets[">= 10x faster than cosign per image"] = m.wall_s >= 10 * sv.wall_s
        if m.name.startswith("cosign verify, all"):
            targets[">= 3x faster than one cosign call"] = m.wall_s >= 3 * sv.wall_s
    result = {"meta": meta(args, cosign), "images": len(refs), "rows": [asdict(m) for m in rows],
              "startup": extra, "targets": targets, "table": table(rows, sv, floor)}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{len(refs)} key-signed images, concurrency {conc}, {os.cpu_count()} CPUs, load average {load}\n")
    print(result["table"])
    print()
    for k, v in extra.items():
        print(f"{k}: {v}")
    for k, ok in targets.items():
        print(f"[{'x' if ok else ' '}] {k}")
    return result


def scaling(args: argparse.Namespace, reg: RegistryProcess, work: Path) -> dict[str, Any]:
    sizes = sorted({int(s) for s in args.scaling.split(",") if s.strip()})
    t0 = time.perf_counter()
    refs, pub = populate(reg, max(sizes), work)
    print(f"pushed and signed {len(refs)} images in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    conc = args.concurrency or 16
    bench_floor(reg, refs, work, conc)  # warm-up
    points: list[dict[str, Any]] = []
    for n in sizes:
        svs, fls = [], []
        for _ in range(args.repeat):
            svs.append(bench_sigverify(reg, refs[:n], pub, work, args.concurrency))
            fls.append(bench_floor(reg, refs[:n], work, conc))
        sv, fl = median_of(svs), median_of(fls)
        points.append({"images": n, "sigverify": asdict(sv), "floor": asdict(fl)})
        print(f"  {n:5d} images: sigverify {sv.wall_s:6.2f}s {sv.peak_rss_mb:5.0f} MB {sv.requests_per_image} req/img"
              f" ({sv.note}) | floor {fl.wall_s:6.2f}s {fl.peak_rss_mb:5.0f} MB", file=sys.stderr)
    result: dict[str, Any] = {"meta": meta(args, None), "points": points}
    lines = ["| images | sigverify wall s | floor wall s | sigverify/floor | sigverify CPU s | sigverify peak RSS MB |"
             " req/image |", "|---|---|---|---|---|---|---|"]
    for p in points:
        s, f = p["sigverify"], p["floor"]
        lines.append(f"| {p['images']} | {s['wall_s']:.2f} | {f['wall_s']:.2f} | {s['wall_s'] / f['wall_s']:.2f} | "
                     f"{s['cpu_s']:.2f} | {s['peak_rss_mb']:.0f} | {s['requests_per_image']:g} |")
    result["table"] = "\n".join(lines)
    print(result["table"])
    plot(points, RESULTS / "scaling.png")
    return result


def plot(points: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return
    xs = [p["images"] for p in points]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("sigverify", "sigverify"), ("floor", "raw-HTTP floor")):
        ax1.plot(xs, [p[key]["wall_s"] for p in points], marker="o", label=label)
        ax2.plot(xs, [p[key]["peak_rss_mb"] for p in points], marker="o", label=label)
    ax1.set(xlabel="images", ylabel="wall time (s)", title="Time vs image count")
    ax2.set(xlabel="images", ylabel="peak RSS (MB)", title="Memory vs image count")
    ax2.axhline(120, color="grey", linestyle="--", linewidth=1, label="120 MB target")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    fig.suptitle("sigverify on key-signed images, local registry (bench/run.py --scaling)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200, help="images for the comparison (default 200)")
    ap.add_argument("--concurrency", type=int, default=None,
                    help="sigverify --concurrency and the floor's (default: sigverify's default, 16)")
    ap.add_argument("--scaling", metavar="N,N,...", help="instead: sigverify and floor at these sizes, with a plot")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of sigverify / one cosign call / floor, median reported (default 3)")
    ap.add_argument("--skip-cosign-per-image", action="store_true", help="skip the slowest row")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/latest.json)")
    args = ap.parse_args(argv)
    registry_bin = shutil.which("docker-registry")
    if registry_bin is None:
        print("docker-registry missing: apt-get install docker-registry", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sigverify-bench-") as tmp:
        work = Path(tmp)
        reg = RegistryProcess(registry_bin, work / "registry", kind="docker-registry").start()
        try:
            result = scaling(args, reg, work) if args.scaling else compare(args, reg, work)
        finally:
            reg.stop()
    out = args.out or RESULTS / ("scaling.json" if args.scaling else "latest.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
