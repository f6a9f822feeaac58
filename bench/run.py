"""Benchmark: sigverify vs cosign vs the raw-HTTP floor, on the same key-signed images, on loopback and over a WAN.

    .venv/bin/python bench/run.py                               # 200 images on loopback: the comparison table
    .venv/bin/python bench/run.py --rtt-ms 0,40                 # loopback and a 40 ms round trip, side by side
    .venv/bin/python bench/run.py --rtt-ms 40 --auth token      # 20 repositories behind a token server
    .venv/bin/python bench/run.py --rtt-ms 40 --sweep 4,8,16,32,64 --skip-cosign-per-image
    .venv/bin/python bench/run.py --scaling 200,1000,10000      # sigverify + floor at several sizes, plot

Starts Debian's `docker-registry` on a free loopback port (its access log counts the requests of each phase),
pushes N small random images and signs each with a classic cosign key signature (made in Python by
tests/interop/classic_sign.py, byte-compatible with `cosign sign --key --tlog-upload=false`; every cosign run
below verifies them, which checks that), then measures in one run, on the same images:

  sigverify            one `sigverify verify` call over all images (its default concurrency unless --concurrency)
  cosign per image     `cosign verify` (v2) once per image, one after the other, as CI scripts do (loopback only)
  cosign one call      one `cosign verify` call with all images as arguments (each cosign of --cosign)
  floor                bench/floor.py: a pooled HTTP client making only the essential requests (resolve the tag,
                       fetch the .sig manifest, fetch the payload blob) at the same concurrency, no crypto/policy:
                       requests.Session (the floor used for the targets) and, for reference, urllib3

Networks (--rtt-ms, a list): 0 is plain loopback; N > 0 puts a delaying proxy (its own process) between every
client and the registry, adding N ms per round trip and one more per new connection (--setup-rtts): by default
bench/wanproxy/ compiled with Go (built once into ~/.cache/sigverify/bench/), or bench/wanproxy.py with --proxy
python; its CPU is reported next to the registry's, as both share the cores with the client measured. --auth token
puts the registry behind a token server (anonymous pull tokens, the Docker Hub pattern) with --repos
repositories (default 20); the token server is reached through the same proxy, and its requests are counted.

Each contender is a child process: wall time, CPU time (user+sys, GNU time), peak RSS, registry requests per
image (access-log lines during the phase). Rounds are interleaved (--repeat, median reported with its spread).
Prints a table; writes bench/results/latest.json (or scaling.json and scaling.png with --scaling). Needs the peers
(tests/peers/install.sh) for cosign; matplotlib (the `bench` extra) for the plot.
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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.peers import RegistryProcess, find_peer, free_port, offline_env  # noqa: E402
from tests.interop.classic_sign import new_key, sign_classic  # noqa: E402
from tests.interop.oci import Pusher  # noqa: E402

RESULTS = REPO / "bench" / "results"
WANPROXY_SRC = REPO / "bench" / "wanproxy"  # the Go proxy (bench/wanproxy.py is the same in Python)
WANPROXY_BIN = Path.home() / ".cache" / "sigverify" / "bench" / "wanproxy"
PY = sys.executable
REPO_NAME = "bench/app"
DEFAULT_CONCURRENCY = 64  # sigverify's default (`sigverify verify --help`)
SOURCE: dict[str, Any] = {"dir": REPO, "rev": None}  # which sigverify the children import (--sigverify-rev)


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
    proxy_cpu_s: float | None = None  # CPU the WAN proxy process spent in this phase (None: no proxy in the path)
    token_requests: int = 0  # requests to the token server (--auth token)
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
        p = subprocess.Popen(
            full,
            env=env,
            stdout=stdout or subprocess.DEVNULL,
            cwd=SOURCE.get("cwd"),
            stderr=stdout or subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
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


def process_cpu(proc: subprocess.Popen[bytes] | None) -> float:
    """CPU seconds (utime + stime, all threads) a running child has used so far; 0 without one."""
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phase:
    """Counts the registry's access-log lines written while a phase runs, and the registry's and proxy's CPU."""

    def __init__(self, reg: Any, proxy: subprocess.Popen[bytes] | None = None) -> None:
        self.reg = reg  # RegistryProcess or TokenRegistry: .proc, .access_lines()
        self.proxy = proxy  # the WAN proxy process in front of it, if any
        self.tokens0 = 0
        self.tokens = 0
        self.start = 0
        self.cpu0 = 0.0
        self.cpu = 0.0
        self.proxy_cpu0 = 0.0
        self.proxy_cpu = 0.0

    def _registry_cpu(self) -> float:
        return process_cpu(self.reg.proc)

    def __enter__(self) -> Phase:
        time.sleep(0.2)
        self.start = len(self.reg.access_lines())
        self.cpu0 = self._registry_cpu()
        self.proxy_cpu0 = process_cpu(self.proxy)
        self.tokens0 = self._token_requests()
        return self

    def _token_requests(self) -> int:
        server = getattr(self.reg, "token_server", None)
        return len(server.requests) if server is not None else 0

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # let the registry flush the last lines
        self.lines = self.reg.access_lines()[self.start :]
        self.cpu = self._registry_cpu() - self.cpu0
        self.proxy_cpu = process_cpu(self.proxy) - self.proxy_cpu0
        self.tokens = self._token_requests() - self.tokens0

    def fill(self, m: Measure, images: int) -> Measure:
        m.registry_cpu_s = round(self.cpu, 2)
        m.proxy_cpu_s = round(self.proxy_cpu, 2) if self.proxy is not None else None
        m.requests = len(self.lines)
        m.requests_per_image = round(len(self.lines) / max(images, 1), 2)
        m.token_requests = self.tokens
        m.request_kinds = dict(Counter(classify(ln) for ln in self.lines).most_common())
        return m


# ---------------------------------------------------------------------------------------------------------------
# setup: the registry (plain or behind a token server) and the network in front of it
# ---------------------------------------------------------------------------------------------------------------


def token_registry_class() -> type[Any]:
    """tests/fixtures/registry.py's RegistryServer with token auth, its realm on a port the bench's proxy owns."""
    from tests.fixtures.registry import RegistryServer

    class TokenRegistry(RegistryServer):
        """docker-registry behind the test token server; clients reach the realm at 127.0.0.1:realm_port."""

        realm_port = 0

        def _config(self) -> str:
            text = str(super()._config())
            server = self.token_server
            assert server is not None, "TokenRegistry is only started with auth='token'"
            # the fixture's handler writes headers and body separately: without TCP_NODELAY, Nagle + delayed ACK
            # stall every token request on a kept-alive connection by ~40 ms
            handler: Any = server._server.RequestHandlerClass
            handler.disable_nagle_algorithm = True
            self.realm_port = free_port()
            return text.replace(server.realm, f"http://127.0.0.1:{self.realm_port}/token")

        @property
        def proc(self) -> subprocess.Popen[bytes] | None:
            return self._proc

        def access_lines(self) -> list[str]:
            text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            return [ln for ln in text.splitlines() if '"GET ' in ln or '"HEAD ' in ln]

    return TokenRegistry


class ProxyUnavailable(RuntimeError):
    """The Go proxy cannot be built here."""


def wanproxy_command(kind: str = "go") -> list[str]:
    """The WAN proxy's command: the Go build of bench/wanproxy/ (built when missing or older than its source), or
    bench/wanproxy.py."""
    if kind == "python":
        return [PY, str(REPO / "bench" / "wanproxy.py")]
    newest = max(p.stat().st_mtime for p in (WANPROXY_SRC / "main.go", WANPROXY_SRC / "go.mod"))
    if WANPROXY_BIN.exists() and WANPROXY_BIN.stat().st_mtime >= newest:
        return [str(WANPROXY_BIN)]
    go = shutil.which("go")
    if go is None:
        raise ProxyUnavailable(
            "`go` not found on PATH: it builds the default proxy, bench/wanproxy/ (--proxy go); "
            "--proxy python runs bench/wanproxy.py instead and needs no Go"
        )
    WANPROXY_BIN.parent.mkdir(parents=True, exist_ok=True)
    tmp = WANPROXY_BIN.with_name(f"wanproxy.{os.getpid()}.tmp")
    env = dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="0")  # the Go on this machine, never a download
    built = subprocess.run(
        [go, "build", "-trimpath", "-o", str(tmp), "."],
        cwd=WANPROXY_SRC,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ProxyUnavailable(
            f"`go build` of bench/wanproxy/ failed (exit {built.returncode}); --proxy python needs no Go:\n"
            + built.stderr.strip()
        )
    os.replace(tmp, WANPROXY_BIN)  # atomic: a concurrent run never starts a half-written binary
    print(f"built {WANPROXY_BIN}", file=sys.stderr)
    return [str(WANPROXY_BIN)]


def proxy_description(kind: str) -> str:
    if kind == "python":
        return f"bench/wanproxy.py (asyncio, Python {platform.python_version()}, own process)"
    go = shutil.which("go")
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.split() if go else []
    return f"bench/wanproxy/ (built with {version[2] if len(version) > 2 else 'go ?'}, own process, {WANPROXY_BIN})"


def probe_proxy(host: str, rtt_ms: float, setup_rtts: int) -> dict[str, Any]:
    """GET /v2/ through the proxy on a new connection, then again on the same kept-alive one: the first must take at
    least (1 + setup_rtts) round trips, the second at least one (what they take above that is this machine's load)."""
    import http.client

    name, port = host.rsplit(":", 1)
    conn = http.client.HTTPConnection(name, int(port), timeout=30)
    times, socks = [], []
    try:
        for _ in range(2):
            t0 = time.perf_counter()
            conn.request("GET", "/v2/")
            conn.getresponse().read()
            times.append(round((time.perf_counter() - t0) * 1000, 1))
            socks.append(conn.sock)
    finally:
        conn.close()
    out: dict[str, Any] = {
        "new_connection_ms": times[0],
        "new_connection_at_least_ms": (1 + setup_rtts) * rtt_ms,
        "kept_alive_ms": times[1],
        "kept_alive_at_least_ms": rtt_ms,
    }
    if socks[0] is not socks[1] or socks[1] is None:
        raise RuntimeError(f"proxy probe: the registry did not keep the connection alive: {out}")
    if times[0] < 0.98 * out["new_connection_at_least_ms"] or times[1] < 0.98 * rtt_ms:
        raise RuntimeError(f"proxy probe: the proxy delays less than it should: {out}")
    return out


@dataclass
class Net:
    """What the clients talk to: the registry directly (rtt 0) or the WAN proxy in front of it."""

    rtt_ms: float
    host: str  # host:port the clients use
    reg: Any
    proxy: subprocess.Popen[bytes] | None = None
    probe: dict[str, Any] = field(default_factory=dict)  # probe_proxy's timings, when rtt > 0

    @property
    def label(self) -> str:
        return "loopback" if self.rtt_ms == 0 else f"{self.rtt_ms:g} ms RTT"


@contextmanager
def network(reg: Any, rtt_ms: float, setup_rtts: int, proxy_kind: str = "go") -> Iterator[Net]:
    """Start the proxy for this network (registry when rtt > 0; token realm always, when there is one)."""
    maps: list[str] = []
    if rtt_ms > 0:
        maps.append(f"0:127.0.0.1:{reg.port}")
    realm_port = getattr(reg, "realm_port", 0)
    if realm_port:
        maps.append(f"{realm_port}:127.0.0.1:{reg.token_server.port}")
    if not maps:
        yield Net(rtt_ms, reg.host, reg)
        return
    argv = [
        *wanproxy_command(proxy_kind),
        "--rtt-ms",
        str(rtt_ms),
        "--setup-rtts",
        str(setup_rtts),
        "--deadline-s",
        "7200",
    ] + [a for m in maps for a in ("--map", m)]
    proxy = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert proxy.stdout is not None
        line = proxy.stdout.readline()  # the proxy prints its ports once listening (or exits)
        if not line:
            raise RuntimeError(f"the WAN proxy did not start: {argv}")
        ports = json.loads(line)["ports"]
        host = f"127.0.0.1:{ports[0]}" if rtt_ms > 0 else reg.host
        probe = probe_proxy(host, rtt_ms, setup_rtts) if rtt_ms > 0 else {}
        yield Net(rtt_ms, host, reg, proxy, probe)
    finally:
        proxy.terminate()
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait(10)


def repo_of(i: int, repos: int) -> str:
    return REPO_NAME if repos <= 1 else f"{REPO_NAME}-{i % repos:02d}"


def populate(reg: Any, n: int, workdir: Path, workers: int = 8, repos: int = 1) -> tuple[list[str], Path]:
    """Push n random images (tags img-00000...) each signed by one key; return the repo:tag paths and the key."""
    key, pub_pem = new_key()
    pub = workdir / "cosign.pub"
    pub.write_bytes(pub_pem)
    local = threading.local()
    auth: dict[str, str] = {}
    server = getattr(reg, "token_server", None)
    if server is not None:  # one push token for every repository, long enough for the whole setup
        server.expires_in = 6 * 3600
        access = [
            {"type": "repository", "name": repo_of(i, repos), "actions": ["pull", "push"]}
            for i in range(min(n, max(repos, 1)))
        ]
        auth["Authorization"] = "Bearer " + server.issue(reg.admin, access)
        server.expires_in = 300  # what clients get: Docker Hub's five minutes

    def one(i: int) -> str:
        pusher = getattr(local, "p", None)
        if pusher is None:
            pusher = local.p = Pusher(reg.host, user_agent="sigverify-bench-setup")
            pusher.session.headers.update(auth)
        repo, tag = repo_of(i, repos), f"img-{i:05d}"
        digest = pusher.random_image(repo, tag)
        sign_classic(pusher, repo, digest, key)
        return f"{repo}:{tag}"

    with ThreadPoolExecutor(max_workers=workers) as ex:
        paths = list(ex.map(one, range(n)))
    return paths, pub


def populate_direct(reg: Any, n: int, workdir: Path, repos: int = 1) -> tuple[list[str], Path]:
    """Write n random signed images straight into the registry's filesystem storage (no HTTP); same objects as
    populate(): each image its own random layer, config and manifest digest, and its own classic signature.

    Only for the plain docker-registry (RegistryProcess, filesystem driver, no blob-descriptor cache configured):
    the registry reads tags, links and blobs from disk on every request, so objects written while it runs are
    served as if pushed. A sample is read back over HTTP before any measurement, and every sigverify run checks
    all n signatures (its note says how many passed).
    """
    import base64
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.interop.classic_sign import SIMPLESIGNING, payload
    from tests.interop.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sig_tag

    key, pub_pem = new_key()
    pub = workdir / "cosign.pub"
    pub.write_bytes(pub_pem)
    root = reg.workdir / "storage" / "docker" / "registry" / "v2"

    def put(repo: str, data: bytes, kind: str) -> str:
        hexd = hashlib.sha256(data).hexdigest()
        blob = root / "blobs" / "sha256" / hexd[:2] / hexd / "data"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = root / "repositories" / repo / kind / "sha256" / hexd / "link"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(f"sha256:{hexd}")
        return f"sha256:{hexd}"

    def manifest(repo: str, tag: str, config: bytes, layer: bytes, layer_type: str, ann: dict[str, str]) -> str:
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": put(repo, config, "_layers"), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": put(repo, layer, "_layers"), "size": len(layer)}],
        }
        if ann:  # cosign's key order: mediaType, size, digest, annotations (any order verifies; keep it close)
            doc["layers"][0]["annotations"] = ann
        digest = put(repo, json.dumps(doc, separators=(",", ":")).encode(), "_manifests/revisions")
        tags = root / "repositories" / repo / "_manifests" / "tags" / tag
        (tags / "current").mkdir(parents=True, exist_ok=True)
        (tags / "current" / "link").write_text(digest)
        idx = tags / "index" / "sha256" / digest.split(":")[1]
        idx.mkdir(parents=True, exist_ok=True)
        (idx / "link").write_text(digest)
        return digest

    def sha(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    paths = []
    for i in range(n):
        repo, tag = repo_of(i, repos), f"img-{i:05d}"
        layer = os.urandom(256)
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha(layer)]},
             "config": {}},
            separators=(",", ":"),
        ).encode()
        digest = manifest(repo, tag, config, layer, OCI_LAYER, {})
        body = payload(f"{reg.host}/{repo}", digest)
        sig = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
        sig_config = json.dumps(
            {"architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
             "os": "", "rootfs": {"type": "layers", "diff_ids": [sha(body)]}, "config": {}},
            separators=(",", ":"),
        ).encode()
        manifest(repo, sig_tag(digest), sig_config, body, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": sig})
        paths.append(f"{repo}:{tag}")
    check = Pusher(reg.host, user_agent="sigverify-bench-setup")
    for path in {paths[0], paths[-1], paths[len(paths) // 2]}:  # the registry serves what was written
        repo, tag = path.split(":")
        raw, _mt = check.get_manifest(repo, tag)
        sig_raw, _mt = check.get_manifest(repo, sig_tag(sha(raw)))
        assert json.loads(sig_raw)["layers"][0]["mediaType"] == SIMPLESIGNING, path
    return paths, pub


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


def use_revision(rev: str, work: Path) -> None:
    """Run the sigverify of commit ``rev`` (git archive into the work dir), not the work tree's."""
    dest = work / "sigverify-src"
    dest.mkdir()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "sigverify"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    SOURCE.update(dir=dest, rev=commit)


def sigverify_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package runs from bytecode: so does the bench
    env["PYTHONPATH"] = str(SOURCE["dir"]) + os.pathsep + env.get("PYTHONPATH", "")
    for k in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_STEP_SUMMARY"):  # no CI side effects in the bench
        env.pop(k, None)
    return env


def trusted_root() -> str:
    import sigstore

    return str(
        Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"
    )


# ---------------------------------------------------------------------------------------------------------------
# the contenders (each takes the repo:tag paths and the network; references are built on net.host)
# ---------------------------------------------------------------------------------------------------------------


def refs_on(net: Net, paths: list[str]) -> list[str]:
    return [f"{net.host}/{p}" for p in paths]


def bench_sigverify(
    net: Net, paths: list[str], pub: Path, work: Path, concurrency: int | None, name: str = "sigverify"
) -> Measure:
    refs = refs_on(net, paths)
    tag = f"{name}-{len(refs)}-{net.rtt_ms:g}"
    cfg = write_config(work / f"{tag}.yaml", refs, net.host, pub)
    argv = [
        PY,
        "-m",
        "sigverify",
        "verify",
        "--config",
        str(cfg),
        "--format",
        "json",
        "--quiet",
        "--json",
        str(work / f"{tag}.report.json"),
    ]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    report_path = work / f"{tag}.report.json"
    report_path.unlink(missing_ok=True)
    with Phase(net.reg, net.proxy) as ph:
        code, wall, cpu, rss = run_child(argv, sigverify_env(), work / f"{name}.out")
    m = ph.fill(Measure(name, wall, cpu, rss, 1, int(code != 0)), len(refs))
    report = json.loads(report_path.read_text()) if code in (0, 1) and report_path.exists() else {}
    passed = sum(1 for im in report.get("images", []) if im.get("verdict") == "pass")
    m.note = f"{passed}/{len(refs)} pass, exit {code}"
    if passed != len(refs):
        m.failures = max(m.failures, 1)
    return m


def cosign_argv(cosign: str, pub: Path) -> list[str]:
    return [
        cosign,
        "verify",
        "--key",
        str(pub),
        "--insecure-ignore-tlog=true",
        f"--trusted-root={trusted_root()}",
        "--allow-insecure-registry",
        "--allow-http-registry",
        "--output",
        "json",
    ]


def bench_cosign_per_image(net: Net, paths: list[str], pub: Path, work: Path, cosign: str) -> Measure:
    env = offline_env(work / "cosign-home")
    m = Measure(f"{Path(cosign).name} verify per image")
    t0 = time.perf_counter()
    with Phase(net.reg, net.proxy) as ph:
        for ref in refs_on(net, paths):
            code, _wall, cpu, rss = run_child([*cosign_argv(cosign, pub), ref], env)
            m.cpu_s += cpu
            m.peak_rss_mb = max(m.peak_rss_mb, rss)
            m.processes += 1
            m.failures += int(code != 0)
    m.wall_s = time.perf_counter() - t0 - 0.5  # minus the Phase's settle sleeps
    ph.fill(m, len(paths))
    m.note = f"{len(paths) - m.failures}/{len(paths)} pass"
    return m


def bench_cosign_one_call(net: Net, paths: list[str], pub: Path, work: Path, cosign: str) -> Measure:
    env = offline_env(work / "cosign-home")
    out = work / f"{Path(cosign).name}-one.out"
    with Phase(net.reg, net.proxy) as ph:
        code, wall, cpu, rss = run_child([*cosign_argv(cosign, pub), *refs_on(net, paths)], env, out)
    name = f"{Path(cosign).name} verify, all images in one call"
    m = ph.fill(Measure(name, wall, cpu, rss, 1, int(code != 0)), len(paths))
    m.note = f"exit {code}"
    return m


def bench_floor(net: Net, paths: list[str], work: Path, concurrency: int, client: str = "requests") -> Measure:
    refs_file = work / f"floor-{len(paths)}.txt"
    refs_file.write_text("\n".join(paths))
    argv = [
        PY,
        str(REPO / "bench" / "floor.py"),
        "--registry",
        net.host,
        "--concurrency",
        str(concurrency),
        "--refs-file",
        str(refs_file),
        "--client",
        client,
    ]
    with Phase(net.reg, net.proxy) as ph:
        code, wall, cpu, rss = run_child(argv, dict(os.environ), work / "floor.out")
    name = "raw-HTTP floor (requests.Session)" if client == "requests" else f"raw-HTTP floor ({client} pool)"
    m = ph.fill(Measure(name, wall, cpu, rss, 1, int(code != 0)), len(paths))
    m.note = (work / "floor.out").read_text().strip()[-80:]
    return m


def median_wall(argv: list[str], env: dict[str, str], n: int) -> float:
    return round(statistics.median(run_child(argv, env)[1] for _ in range(n)), 3)


def startup_times(net: Net, paths: list[str], pub: Path, work: Path, cosigns: list[str], n: int = 7) -> dict[str, Any]:
    """`--version` / `version` start-up (median of n, interleaved) and one image verified by a fresh process."""
    env, cenv = sigverify_env(), offline_env(work / "cosign-home")
    out: dict[str, Any] = {}
    runs: dict[str, list[float]] = {"sigverify --version": []}
    for c in cosigns:
        runs[f"{Path(c).name} version"] = []
    for _ in range(n):
        runs["sigverify --version"].append(run_child([PY, "-m", "sigverify", "--version"], env)[1])
        for c in cosigns:
            runs[f"{Path(c).name} version"].append(run_child([c, "version"], cenv)[1])
    for k, v in runs.items():
        out[f"{k}, s (median of {n})"] = round(statistics.median(v), 3)
        out[f"{k}, s (min-max)"] = [round(min(v), 3), round(max(v), 3)]
    ones = [bench_sigverify(net, paths[:1], pub, work, None, name="sigverify-one") for _ in range(n)]
    out[f"sigverify one image, s (median of {n})"] = round(statistics.median(m.wall_s for m in ones), 3)
    out["sigverify one image, s (min-max)"] = [
        round(min(m.wall_s for m in ones), 3),
        round(max(m.wall_s for m in ones), 3),
    ]
    out["sigverify one image, requests"] = ones[0].requests
    out["sigverify one image, failed runs"] = sum(1 for m in ones if m.failures)  # a failed run is not a time
    out["sigverify one image, CPU s"] = round(statistics.median(m.cpu_s for m in ones), 3)
    for c in cosigns:
        cs = [bench_cosign_one_call(net, paths[:1], pub, work, c) for _ in range(n)]
        out[f"{Path(c).name} one image, s (median of {n})"] = round(statistics.median(m.wall_s for m in cs), 3)
    return out


# ---------------------------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------------------------


def table(rows: list[Measure], base: Measure, floor: Measure | None) -> str:
    head = [
        "",
        "wall s",
        "CPU s",
        "peak RSS MB",
        "req/image",
        "token req",
        "registry CPU s",
        "proxy CPU s",
        "sigverify faster by",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in rows:
        ratio = "-" if m is base else f"{m.wall_s / base.wall_s:.1f}x"
        if m is floor or m.name.startswith("raw-HTTP"):
            ratio = f"sigverify/this = {base.wall_s / m.wall_s:.2f}"
        fail = f" ({m.failures} failed)" if m.failures else ""
        proxy = "-" if m.proxy_cpu_s is None else f"{m.proxy_cpu_s:.2f}"
        lines.append(
            f"| {m.name}{fail} | {m.wall_s:.2f} | {m.cpu_s:.2f} | {m.peak_rss_mb:.0f} | "
            f"{m.requests_per_image:g} | {m.token_requests} | {m.registry_cpu_s:.2f} | {proxy} | {ratio} |"
        )
    return "\n".join(lines)


def side_by_side(nets: dict[str, dict[str, Measure]]) -> str:
    """One row per contender, wall / CPU / requests per image / RSS / proxy CPU for each network side by side."""
    labels = list(nets)
    head = [""] + [f"{lb}: {c}" for lb in labels for c in ("wall s", "CPU s", "req/img", "RSS MB", "proxy CPU s")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names: list[str] = []
    for rows in nets.values():
        names += [n for n in rows if n not in names]
    for name in names:
        cells = [name]
        for lb in labels:
            m = nets[lb].get(name)
            cells += (
                [
                    f"{m.wall_s:.2f}",
                    f"{m.cpu_s:.2f}",
                    f"{m.requests_per_image:g}",
                    f"{m.peak_rss_mb:.0f}",
                    "-" if m.proxy_cpu_s is None else f"{m.proxy_cpu_s:.2f}",
                ]
                if m
                else ["-"] * 5
            )
        lines.append("| " + " | ".join(cells) + " |")
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


def meta(args: argparse.Namespace, cosigns: list[str]) -> dict[str, Any]:
    git = ["git", "-C", str(REPO)]
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "sigverify"], capture_output=True, text=True).stdout
    auth = getattr(args, "auth", "none")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": ".venv/bin/python bench/run.py " + " ".join(sys.argv[1:]),
        "sigverify_commit": SOURCE["rev"]
        or subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        or None,
        "sigverify_source": f"git archive of {SOURCE['rev']}" if SOURCE["rev"] else "work tree",
        "sigverify_package_modified_in_work_tree": bool(dirty.strip()) if not SOURCE["rev"] else None,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_model": cpu_model(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "registry": "Debian docker-registry (distribution 2.8), plain HTTP on 127.0.0.1, filesystem storage, "
        + (
            "token auth (tests/fixtures/registry.py TokenServer, anonymous pull tokens, 300 s)"
            if auth == "token"
            else "no auth"
        ),
        "repositories": getattr(args, "repos", 1),
        "network": {
            "rtt_ms": getattr(args, "rtt_ms", "0"),
            "setup_rtts_per_connection": args.setup_rtts,
            "proxy": getattr(args, "proxy", "go"),
            "proxy_program": proxy_description(getattr(args, "proxy", "go"))
            + " when rtt > 0 (and for the token realm with --auth token)",
        },
        "signatures": "classic cosign key signatures (.sig tag), one per image, made by tests/interop/classic_sign.py",
        "cosign": [f"{c} ({tool_version(c)})" for c in cosigns],
        "concurrency": args.concurrency or f"sigverify default ({DEFAULT_CONCURRENCY})",
        "repeat": getattr(args, "repeat", 1),
    }


def cpu_model() -> str:
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------------------------------------------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------------------------------------------


def median_of(runs: list[Measure]) -> Measure:
    """The run with the median wall time, its CPU the median CPU of all runs, annotated with both spreads (the
    machine may be shared and noisy)."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    m = ordered[len(ordered) // 2]
    if len(runs) > 1:
        cpus = sorted(r.cpu_s for r in runs)
        m.cpu_s = round(statistics.median(cpus), 3)
        m.note += (
            f"; median of {len(runs)}, wall {ordered[0].wall_s:.2f}-{ordered[-1].wall_s:.2f}s, "
            f"CPU {cpus[0]:.2f}-{cpus[-1]:.2f}s"
        )
    m.failures = max(r.failures for r in runs)
    return m


def start_registry(args: argparse.Namespace, work: Path) -> Any:
    if args.auth == "token":
        cls = token_registry_class()
        (work / "registry").mkdir(parents=True, exist_ok=True)
        return cls(work / "registry", auth="token", anonymous_pull=True).start()
    registry_bin = shutil.which("docker-registry")
    assert registry_bin is not None
    return RegistryProcess(registry_bin, work / "registry", kind="docker-registry").start()


def compare_one(
    args: argparse.Namespace, net: Net, paths: list[str], pub: Path, work: Path, cosigns: list[str]
) -> tuple[list[Measure], Measure, Measure, dict[str, list[Measure]]]:
    """Interleaved rounds of every contender on one network; the medians, and every round."""
    conc = args.concurrency or DEFAULT_CONCURRENCY
    bench_floor(net, paths, work, conc)  # warm-up: the registry's caches see every object once before measuring
    runs: dict[str, list[Measure]] = {"sigverify": [], "floor": [], "floor3": []}
    for c in cosigns:
        runs[c] = []
    for r in range(args.repeat):  # interleaved, so load changes on a shared machine hit every contender alike
        runs["sigverify"].append(bench_sigverify(net, paths, pub, work, args.concurrency))
        for c in cosigns:
            runs[c].append(bench_cosign_one_call(net, paths, pub, work, c))
        runs["floor"].append(bench_floor(net, paths, work, conc))
        runs["floor3"].append(bench_floor(net, paths, work, conc, client="urllib3"))
        print(
            f"  [{net.label}] round {r + 1}: "
            + ", ".join(f"{Path(k).name} {v[-1].wall_s:.2f}s" for k, v in runs.items() if v),
            file=sys.stderr,
        )
    sv, floor = median_of(runs["sigverify"]), median_of(runs["floor"])
    rows: list[Measure] = [sv]
    if cosigns and net.rtt_ms == 0 and not args.skip_cosign_per_image:
        rows.append(bench_cosign_per_image(net, paths, pub, work, cosigns[0]))
        print(f"  [{net.label}] cosign per image: {rows[-1].wall_s:.2f}s", file=sys.stderr)
    rows += [median_of(runs[c]) for c in cosigns]
    rows += [floor, median_of(runs["floor3"])]
    return rows, sv, floor, runs


def sweep(args: argparse.Namespace, net: Net, paths: list[str], pub: Path, work: Path) -> list[dict[str, Any]]:
    """sigverify and the floor at several concurrencies on one network (interleaved, median of --repeat)."""
    levels = sorted({int(x) for x in args.sweep.split(",") if x.strip()})
    sv: dict[int, list[Measure]] = {c: [] for c in levels}
    fl: dict[int, list[Measure]] = {c: [] for c in levels}
    for r in range(args.repeat):
        for c in levels:
            sv[c].append(bench_sigverify(net, paths, pub, work, c))
            fl[c].append(bench_floor(net, paths, work, c))
        print(
            f"  [{net.label}] sweep round {r + 1}: "
            + ", ".join(f"c{c} {sv[c][-1].wall_s:.2f}/{fl[c][-1].wall_s:.2f}s" for c in levels),
            file=sys.stderr,
        )
    out = []
    for c in levels:
        s, f = median_of(sv[c]), median_of(fl[c])
        out.append(
            {
                "concurrency": c,
                "sigverify": asdict(s),
                "floor": asdict(f),
                "sigverify_over_floor": round(s.wall_s / f.wall_s, 2),
            }
        )
    return out


def compare(args: argparse.Namespace, reg: Any, work: Path) -> dict[str, Any]:
    cosigns = [p for p in (find_peer(n) for n in args.cosign.split(",") if n) if p]
    if not cosigns:
        print(f"no cosign of {args.cosign} found: run tests/peers/install.sh (cosign rows skipped)", file=sys.stderr)
    rtts = [float(x) for x in args.rtt_ms.split(",") if x.strip()]
    t0 = time.perf_counter()
    paths, pub = populate(reg, args.images, work, repos=args.repos)
    print(f"pushed and signed {len(paths)} images in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    nets: dict[str, dict[str, Measure]] = {}
    result: dict[str, Any] = {"meta": meta(args, cosigns), "images": len(paths), "networks": {}}
    targets: dict[str, Any] = {}
    for rtt in rtts:
        with network(reg, rtt, args.setup_rtts, args.proxy) as net:
            rows, sv, floor, runs = compare_one(args, net, paths, pub, work, cosigns)
            nets[net.label] = {m.name: m for m in rows}
            entry: dict[str, Any] = {"rtt_ms": rtt, "rows": [asdict(m) for m in rows], "table": table(rows, sv, floor)}
            if net.probe:
                entry["proxy_probe"] = net.probe
            entry["startup"] = startup_times(
                net, paths, pub, work, cosigns if rtt == rtts[0] else [], n=args.startup_repeat
            )
            if args.sweep and rtt == max(rtts):
                entry["sweep"] = sweep(args, net, paths, pub, work)
            result["networks"][net.label] = entry
            one = [m for m in rows if "one call" in m.name]
            sv_floor = round(sv.wall_s / floor.wall_s, 2)
            targets[f"[{net.label}] sigverify / floor (requests, same concurrency)"] = sv_floor
            for m in one:
                tool = m.name.split()[0]
                targets[f"[{net.label}] {tool} one call / sigverify (wall)"] = round(m.wall_s / sv.wall_s, 1)
                targets[f"[{net.label}] sigverify CPU / {m.name.split()[0]} one call CPU"] = round(
                    sv.cpu_s / max(m.cpu_s, 0.01), 2
                )
            for c in cosigns:  # paired: each round's ratio (the rounds are interleaved), then their median
                name = Path(c).name
                pairs = list(zip(runs["sigverify"], runs[c], strict=True))
                if pairs:
                    targets[f"[{net.label}] {name} one call / sigverify (wall), median of per-round ratios"] = round(
                        statistics.median(b.wall_s / a.wall_s for a, b in pairs), 1
                    )
                    targets[f"[{net.label}] sigverify CPU / {name} one call CPU, median of per-round ratios"] = round(
                        statistics.median(a.cpu_s / max(b.cpu_s, 0.01) for a, b in pairs), 2
                    )
    result["side_by_side"] = side_by_side(nets)
    result["targets"] = targets
    print(
        f"\n{len(paths)} key-signed images, {args.repos} repositories, auth {args.auth}, concurrency "
        f"{args.concurrency or DEFAULT_CONCURRENCY}, {os.cpu_count()} CPUs, load average "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + "\n"
    )
    for label, entry in result["networks"].items():
        print(f"## {label}\n\n{entry['table']}\n")
        for k, v in entry["startup"].items():
            print(f"{k}: {v}")
        for p in entry.get("sweep", []):
            print(
                f"concurrency {p['concurrency']:3d}: sigverify {p['sigverify']['wall_s']:.2f}s "
                f"floor {p['floor']['wall_s']:.2f}s ratio {p['sigverify_over_floor']}"
            )
        print()
    print(result["side_by_side"] + "\n")
    for k, v in targets.items():
        print(f"{k}: {v}")
    return result


def scaling(args: argparse.Namespace, reg: Any, work: Path) -> dict[str, Any]:
    sizes = sorted({int(s) for s in args.scaling.split(",") if s.strip()})
    rtt = float(args.rtt_ms.split(",")[0])
    t0 = time.perf_counter()
    if args.populate == "direct" and args.auth == "none":
        paths, pub = populate_direct(reg, max(sizes), work, repos=args.repos)
    else:
        paths, pub = populate(reg, max(sizes), work, repos=args.repos)
    print(f"pushed and signed {len(paths)} images in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    conc = args.concurrency or DEFAULT_CONCURRENCY
    points: list[dict[str, Any]] = []
    with network(reg, rtt, args.setup_rtts, args.proxy) as net:
        bench_floor(net, paths, work, conc)  # warm-up
        for n in sizes:
            svs, fls = [], []
            for _ in range(args.repeat):
                svs.append(bench_sigverify(net, paths[:n], pub, work, args.concurrency))
                fls.append(bench_floor(net, paths[:n], work, conc))
            sv, fl = median_of(svs), median_of(fls)
            points.append({"images": n, "sigverify": asdict(sv), "floor": asdict(fl)})
            print(
                f"  {n:5d} images: sigverify {sv.wall_s:6.2f}s {sv.cpu_s:6.2f} CPU s {sv.peak_rss_mb:5.0f} MB "
                f"{sv.requests_per_image} req/img ({sv.note}) | floor {fl.wall_s:6.2f}s {fl.peak_rss_mb:5.0f} MB",
                file=sys.stderr,
            )
    result: dict[str, Any] = {"meta": meta(args, []), "points": points}
    result["meta"]["populate"] = (
        "written into the registry storage on disk (bench/run.py populate_direct)"
        if args.populate == "direct" and args.auth == "none"
        else "pushed over HTTP"
    )
    lines = [
        "| images | sigverify wall s | floor wall s | sigverify/floor | sigverify CPU s | sigverify peak RSS MB |"
        " sigverify ms/image | req/image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        s, f = p["sigverify"], p["floor"]
        lines.append(
            f"| {p['images']} | {s['wall_s']:.2f} | {f['wall_s']:.2f} | {s['wall_s'] / f['wall_s']:.2f} | "
            f"{s['cpu_s']:.2f} | {s['peak_rss_mb']:.0f} | {1000 * s['wall_s'] / p['images']:.1f} | "
            f"{s['requests_per_image']:g} |"
        )
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
    ax2.axhline(150, color="grey", linestyle="--", linewidth=1, label="150 MB target")
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
    ap.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help=f"sigverify --concurrency and the floor's (default: sigverify's, {DEFAULT_CONCURRENCY})",
    )
    ap.add_argument("--scaling", metavar="N,N,...", help="instead: sigverify and floor at these sizes, with a plot")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of sigverify / one cosign call / floor, median reported (default 3)",
    )
    ap.add_argument("--skip-cosign-per-image", action="store_true", help="skip the slowest row")
    ap.add_argument(
        "--rtt-ms",
        default="0",
        metavar="MS[,MS...]",
        help="networks to measure: 0 = loopback, N = the WAN proxy (--proxy) adding N ms per round trip "
        "(e.g. 0,40 side by side; default 0)",
    )
    ap.add_argument("--setup-rtts", type=int, default=1, help="extra round trips per new connection (default 1)")
    ap.add_argument(
        "--proxy",
        choices=("go", "python"),
        default="go",
        help="the WAN proxy for --rtt-ms > 0: go = bench/wanproxy/ (built with `go build` on first use), "
        "python = bench/wanproxy.py, needs no Go (default go)",
    )
    ap.add_argument(
        "--auth",
        choices=("none", "token"),
        default="none",
        help="token: the registry behind a token server, anonymous pull tokens (default none)",
    )
    ap.add_argument(
        "--repos",
        type=int,
        default=None,
        help="repositories the images are spread over (default 1; 20 with --auth token)",
    )
    ap.add_argument(
        "--cosign",
        default="cosign2,cosign3",
        help="cosign binaries for the one-call rows "
        "(peer names or paths; the first also runs per image; default cosign2,cosign3)",
    )
    ap.add_argument(
        "--sweep", metavar="C,C,...", help="also sigverify and floor at these concurrencies on the largest --rtt-ms"
    )
    ap.add_argument(
        "--populate",
        choices=("direct", "push"),
        default="direct",
        help="--scaling set-up: direct = write the signed images into the registry's storage on disk (no auth "
        "only), push = over HTTP like the comparison (default direct)",
    )
    ap.add_argument("--startup-repeat", type=int, default=7, help="runs of the start-up probes (default 7)")
    ap.add_argument(
        "--sigverify-rev", metavar="REV", help="measure sigverify as committed at REV (git archive), not the work tree"
    )
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/latest.json)")
    args = ap.parse_args(argv)
    if args.repos is None:
        args.repos = 20 if args.auth == "token" else 1
    if shutil.which("docker-registry") is None:
        print("docker-registry missing: apt-get install docker-registry", file=sys.stderr)
        return 2
    if args.auth == "token" or any(float(x) > 0 for x in args.rtt_ms.split(",") if x.strip()):
        try:
            wanproxy_command(args.proxy)  # build the Go proxy now, before minutes of set-up, or say why not
        except ProxyUnavailable as e:
            print(f"bench/run.py: {e}", file=sys.stderr)
            return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sigverify-bench-") as tmp:
        work = Path(tmp)
        SOURCE["cwd"] = str(work)  # `python -m` puts the cwd first on sys.path: never the work tree's package
        if args.sigverify_rev:
            use_revision(args.sigverify_rev, work)
        # bytecode as `pip install` writes it, so no run pays for compiling sigverify's sources
        subprocess.run([PY, "-m", "compileall", "-q", str(Path(SOURCE["dir"]) / "sigverify")], check=True)
        reg = start_registry(args, work)
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
