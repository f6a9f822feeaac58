"""The raw-HTTP floor (issue 8): the essential requests of a classic key check, pooled, concurrent, no crypto.

For each image: GET the manifest by tag (resolve to a digest), GET the ``sha256-<hex>.sig`` manifest, GET its
first layer blob (the payload). Same concurrency as sigverify, one pooled ``requests.Session`` per worker thread
(as a careful hand-written client would), nothing else: no auth, no policy, no signature check, no digest check.
Run as a child process so its wall time, CPU time and RSS are measured like the other tools'.

    python bench/floor.py --registry 127.0.0.1:5000 --concurrency 16 REPO:TAG ...   (or --refs-file FILE)
    --client urllib3: the same over one urllib3 connection pool, without the requests layer (lower CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json")
_local = threading.local()


def session(pool: int) -> requests.Session:
    s: requests.Session | None = getattr(_local, "s", None)
    if s is None:
        s = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool)
        s.mount("http://", adapter)
        s.headers["User-Agent"] = "sigverify-bench-floor"
        _local.s = s
    return s


_pool: Any = None


def one_urllib3(base: str, ref: str, pool: int) -> bool:
    """The same three requests over one shared urllib3 pool (no requests layer): a lower-overhead floor."""
    repo, tag = ref.rsplit(":", 1)
    hdr = {"Accept": ACCEPT, "User-Agent": "sigverify-bench-floor-urllib3"}
    r = _pool.request("GET", f"{base}/v2/{repo}/manifests/{tag}", headers=hdr)
    if r.status != 200:
        return False
    digest = r.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(r.data).hexdigest()
    r = _pool.request("GET", f"{base}/v2/{repo}/manifests/{digest.replace(':', '-')}.sig", headers=hdr)
    if r.status != 200:
        return False
    layer = json.loads(r.data)["layers"][0]["digest"]
    r = _pool.request("GET", f"{base}/v2/{repo}/blobs/{layer}", headers=hdr)
    return bool(r.status == 200)


def one(base: str, ref: str, pool: int) -> bool:
    s = session(pool)
    repo, tag = ref.rsplit(":", 1)
    r = s.get(f"{base}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=30)
    if r.status_code != 200:
        return False
    digest = r.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(r.content).hexdigest()
    r = s.get(f"{base}/v2/{repo}/manifests/{digest.replace(':', '-')}.sig", headers={"Accept": ACCEPT}, timeout=30)
    if r.status_code != 200:
        return False
    layer = json.loads(r.content)["layers"][0]["digest"]
    r = s.get(f"{base}/v2/{repo}/blobs/{layer}", timeout=30)
    return r.status_code == 200


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", required=True, help="host:port (plain HTTP)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--refs-file", help="file with one repo:tag per line")
    ap.add_argument("--client", choices=("requests", "urllib3"), default="requests")
    ap.add_argument("refs", nargs="*")
    a = ap.parse_args(argv)
    refs = list(a.refs)
    if a.refs_file:
        refs += [ln.strip() for ln in Path(a.refs_file).read_text().splitlines() if ln.strip()]
    base = f"http://{a.registry}"
    fn = one
    if a.client == "urllib3":
        import urllib3

        global _pool
        _pool = urllib3.HTTPConnectionPool(a.registry.split(":")[0], int(a.registry.split(":")[1]),
                                           maxsize=a.concurrency, block=True, timeout=30.0)
        fn = one_urllib3
        base = ""
    with ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        ok = list(ex.map(lambda ref: fn(base, ref, a.concurrency), refs))
    print(json.dumps({"images": len(refs), "ok": sum(ok)}))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
