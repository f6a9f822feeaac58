"""The raw-HTTP floor (issue 8): the essential requests of a classic key check, pooled, concurrent, no crypto.

For each image: GET the manifest by tag (resolve to a digest), GET the ``sha256-<hex>.sig`` manifest, GET its
first layer blob (the payload). Same concurrency as sigverify, one pooled ``requests.Session`` per worker thread
(as a careful hand-written client would), nothing else: no policy, no signature check, no digest check. Behind a
token-auth registry it answers the Bearer challenge like any client, fetching one anonymous token per repository
scope (single flight) and reusing it for every image and thread. Run as a child process so its wall time, CPU time and
RSS are measured like the other tools'.

    python bench/floor.py --registry 127.0.0.1:5000 --concurrency 16 REPO:TAG ...   (or --refs-file FILE)
    --client urllib3: the same over one urllib3 connection pool, without the requests layer (lower CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
_local = threading.local()
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class Tokens:
    """Anonymous Bearer tokens, one per scope for the whole run (single flight), as a careful client keeps them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.scope_locks: dict[str, threading.Lock] = {}
        self.tokens: dict[str, str] = {}
        self.fetched = 0

    def header(self, repo: str) -> dict[str, str]:
        token = self.tokens.get(f"repository:{repo}:pull")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def fetch(self, challenge: str, repo: str, get: Any) -> dict[str, str]:
        """Answer a ``WWW-Authenticate: Bearer realm=,service=,scope=`` challenge; ``get(url) -> (status, body)``."""
        params = dict(_CHALLENGE.findall(challenge))
        scope = params.get("scope") or f"repository:{repo}:pull"
        with self.lock:
            lock = self.scope_locks.setdefault(scope, threading.Lock())
        with lock:
            if scope not in self.tokens:
                query = urllib.parse.urlencode({"service": params.get("service", ""), "scope": scope})
                status, body = get(f"{params['realm']}?{query}")
                if status != 200:
                    raise RuntimeError(f"token endpoint answered {status}")
                doc = json.loads(body)
                self.tokens[scope] = doc.get("token") or doc["access_token"]
                self.fetched += 1
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


TOKENS = Tokens()


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
    import urllib3

    repo, tag = ref.rsplit(":", 1)
    hdr = {"Accept": ACCEPT, "User-Agent": "sigverify-bench-floor-urllib3"}

    def token_get(url: str) -> tuple[int, bytes]:
        t = urllib3.request("GET", url, headers={"User-Agent": hdr["User-Agent"]}, timeout=30.0)
        return t.status, t.data

    def get(path: str) -> Any:
        r = _pool.request("GET", path, headers={**hdr, **TOKENS.header(repo)})
        if r.status == 401 and "bearer" in r.headers.get("WWW-Authenticate", "").lower():
            TOKENS.fetch(r.headers["WWW-Authenticate"], repo, token_get)
            r = _pool.request("GET", path, headers={**hdr, **TOKENS.header(repo)})
        return r

    r = get(f"{base}/v2/{repo}/manifests/{tag}")
    if r.status != 200:
        return False
    digest = r.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(r.data).hexdigest()
    r = get(f"{base}/v2/{repo}/manifests/{digest.replace(':', '-')}.sig")
    if r.status != 200:
        return False
    layer = json.loads(r.data)["layers"][0]["digest"]
    r = get(f"{base}/v2/{repo}/blobs/{layer}")
    return bool(r.status == 200)


def one(base: str, ref: str, pool: int) -> bool:
    s = session(pool)
    repo, tag = ref.rsplit(":", 1)

    def token_get(url: str) -> tuple[int, bytes]:
        t = s.get(url, timeout=30)
        return t.status_code, t.content

    def get(url: str, headers: dict[str, str]) -> requests.Response:
        r = s.get(url, headers={**headers, **TOKENS.header(repo)}, timeout=30)
        if r.status_code == 401 and "bearer" in r.headers.get("WWW-Authenticate", "").lower():
            TOKENS.fetch(r.headers["WWW-Authenticate"], repo, token_get)
            r = s.get(url, headers={**headers, **TOKENS.header(repo)}, timeout=30)
        return r

    r = get(f"{base}/v2/{repo}/manifests/{tag}", {"Accept": ACCEPT})
    if r.status_code != 200:
        return False
    digest = r.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(r.content).hexdigest()
    r = get(f"{base}/v2/{repo}/manifests/{digest.replace(':', '-')}.sig", {"Accept": ACCEPT})
    if r.status_code != 200:
        return False
    layer = json.loads(r.content)["layers"][0]["digest"]
    r = get(f"{base}/v2/{repo}/blobs/{layer}", {})
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
        _pool = urllib3.HTTPConnectionPool(
            a.registry.split(":")[0], int(a.registry.split(":")[1]), maxsize=a.concurrency, block=True, timeout=30.0
        )
        fn = one_urllib3
        base = ""
    with ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        ok = list(ex.map(lambda ref: fn(base, ref, a.concurrency), refs))
    print(json.dumps({"images": len(refs), "ok": sum(ok), "tokens": TOKENS.fetched}))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
