"""HTTP reads outside registries, through the same transport: the Rekor v1 API (search entries by artifact hash,
read an entry) and signed files named by an ``https://`` URL. Bodies are size-capped while read, every request
has a deadline over the whole exchange, the number of entries read is bounded; nothing read here is trusted
before the caller verifies it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
from collections.abc import Mapping

from sigverify import __version__
from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.limits import REQUEST_TIMEOUT, RequestCounter
from sigverify.registry.response import (
    CHUNK,
    Response,
    check_length,
    read_capped,
    read_error_detail,
    read_failed,
    size_error,
    timeout_error,
)
from sigverify.registry.transport import Transport
from sigverify.registry.urls import redact_url

MAX_ENTRY_BYTES = 1024 * 1024  # one Rekor entry (hashedrekord bodies are a few KiB)
MAX_SEARCH_BYTES = 256 * 1024  # the UUID list of a search
MAX_ENTRIES = 16  # entries read for one artifact hash (each is verified; the first that binds wins)
MAX_FILE_BYTES = 512 * 1024 * 1024  # a signed file downloaded for `files:` (hashed, never executed)
MAX_SIDECAR_BYTES = 1024 * 1024  # its .sig / .cert / bundle
FILE_TIMEOUT = 300.0  # seconds for the download of one signed file (connect, headers and body)
LOOKUP_TIMEOUT = 120.0  # seconds for a whole transparency-log lookup (every log, search and entries)
_UUID = re.compile(r"[0-9a-f]{64}|[0-9a-f]{80}")


def _verify_setting(env: Mapping[str, str] | None, ca_file: str | None) -> bool | str:
    env = os.environ if env is None else env
    return ca_file or env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or True


def _transport(url: str, *, timeout: float, ca_file: str | None, env: Mapping[str, str] | None,
               allow_http: bool) -> Transport:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise RegistryError(f"not an https URL: {redact_url(url)}", code=Code.INSECURE_REFUSED,
                            url=redact_url(url), expected="https://host/path", found=scheme or "(no scheme)")
    if scheme == "http" and not allow_http:
        raise RegistryError(f"refused plain http: {redact_url(url)}", code=Code.INSECURE_REFUSED,
                            url=redact_url(url), expected="https", found="http",
                            tip="Signed files are downloaded over https only.")
    if "@" in parts.netloc:
        raise RegistryError(f"refused a URL with credentials in it: {redact_url(url)}", code=Code.INSECURE_REFUSED,
                            url=redact_url(url), expected="https://host/path", found="user:password@ in the URL",
                            tip="sigverify sends no credentials for signed files or logs; remove them from the URL.")
    host = parts.netloc
    return Transport(host, insecure=scheme == "http", verify=_verify_setting(env, ca_file), timeout=timeout,
                     pool_size=2, user_agent=f"sigverify/{__version__}", counter=RequestCounter())


class RekorClient:
    """A read-only client for one Rekor v1 log (its URL comes from the trusted root, or --rekor-url).

    A plain-http log URL is allowed: nothing from the log is trusted before its signed entry timestamp,
    inclusion proof and checkpoint verify with the log key of the trusted root."""

    def __init__(self, base_url: str, *, timeout: float = REQUEST_TIMEOUT, ca_file: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = _transport(self.base_url, timeout=timeout, ca_file=ca_file, env=env, allow_http=True)

    def close(self) -> None:
        self._transport.close()

    def _call(self, method: str, path: str, body: bytes | None, cap: int, what: str) -> bytes | None:
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        resp = self._transport.send(method, url, headers, body=body)
        if resp.status_code == 404:
            read_error_detail(resp)
            return None
        if resp.status_code != 200:
            detail = read_error_detail(resp)
            raise RegistryError(f"{what}: {method} {redact_url(url)} answered HTTP {resp.status_code}"
                                + (f" ({detail})" if detail else ""), url=redact_url(url), status=resp.status_code)
        return read_capped(resp, cap, what, url)

    def search_sha256(self, digest_hex: str) -> list[str]:
        """UUIDs of the entries whose artifact hash is ``sha256:<digest_hex>`` (``POST /api/v1/index/retrieve``),
        at most ``MAX_ENTRIES`` of them."""
        query = json.dumps({"hash": f"sha256:{digest_hex}"}).encode()
        raw = self._call("POST", "/api/v1/index/retrieve", query, MAX_SEARCH_BYTES, "Rekor search")
        if raw is None:
            return []
        try:
            found = loads_strict(raw, what="Rekor search answer", max_bytes=MAX_SEARCH_BYTES)
        except PayloadError:
            found = None
        if not isinstance(found, list) or not all(isinstance(u, str) for u in found):
            raise RegistryError("Rekor search: the answer is not a list of entry UUIDs",
                                code=Code.REGISTRY_ERROR, url=redact_url(self.base_url),
                                expected="[\"<uuid>\", ...]", found=raw[:60].decode(errors="replace"))
        out: list[str] = []
        for u in found:
            u = u.lower()
            if _UUID.fullmatch(u) and u not in out:
                out.append(u)
        return out[:MAX_ENTRIES]

    def entry(self, uuid: str) -> bytes | None:
        """The raw JSON of one entry (``GET /api/v1/log/entries/{uuid}``), or None when the log has none."""
        if not _UUID.fullmatch(uuid):
            raise RegistryError("Rekor: not an entry UUID", found=uuid[:80])
        return self._call("GET", f"/api/v1/log/entries/{uuid}", None, MAX_ENTRY_BYTES, "Rekor entry")


def _get(transport: Transport, url: str, what: str) -> Response:
    """GET ``url``; any answer but 200 is NOT_FOUND (404, 410) or REGISTRY_ERROR, its small body read first."""
    resp = transport.send("GET", url, {"Accept": "*/*"})
    if resp.status_code != 200:
        read_error_detail(resp)
        raise RegistryError(f"{what}: GET {redact_url(url)} answered HTTP {resp.status_code}",
                            code=Code.NOT_FOUND if resp.status_code in (404, 410) else Code.REGISTRY_ERROR,
                            url=redact_url(url), status=resp.status_code)
    return resp


def download(url: str, *, cap: int, what: str, ca_file: str | None = None, timeout: float = REQUEST_TIMEOUT,
             env: Mapping[str, str] | None = None) -> bytes:
    """GET an ``https://`` URL (no credentials are ever sent), capped at ``cap`` bytes while read.
    Raises RegistryError: NOT_FOUND, SIZE_LIMIT, TIMEOUT, INSECURE_REFUSED, REGISTRY_ERROR."""
    transport = _transport(url, timeout=timeout, ca_file=ca_file, env=env, allow_http=False)
    try:
        resp = _get(transport, url, what)
        return read_capped(resp, cap, what, url)
    finally:
        transport.close()


def download_sha256(url: str, *, cap: int, keep: int, what: str, ca_file: str | None = None,
                    timeout: float = REQUEST_TIMEOUT,
                    env: Mapping[str, str] | None = None) -> tuple[bytes, bytes | None]:
    """GET an ``https://`` URL and hash it while it streams: (SHA-256, the body when at most ``keep`` bytes).
    Never more than ``cap`` bytes are read (SIZE_LIMIT); the deadline covers the whole body (TIMEOUT)."""
    transport = _transport(url, timeout=timeout, ca_file=ca_file, env=env, allow_http=False)
    try:
        resp = _get(transport, url, what)
        return _hash_capped(resp, cap, keep, what, url)
    finally:
        transport.close()


def _hash_capped(resp: Response, cap: int, keep: int, what: str, url: str) -> tuple[bytes, bytes | None]:
    check_length(resp, cap, what, url)
    h = hashlib.sha256()
    kept: list[bytes] | None = []
    total = 0
    try:
        while chunk := resp.raw.read1(min(CHUNK, cap + 1 - total)):
            total += len(chunk)
            if total > cap:
                resp.close()
                raise size_error(what, url, cap, f"more than {cap} bytes")
            h.update(chunk)
            if kept is not None and total <= keep:
                kept.append(chunk)
            else:
                kept = None  # too large to keep: the caller verifies over the digest
    except RegistryError:
        raise
    except Exception as exc:
        raise read_failed(resp, exc, what, url) from None
    if resp.timed_out:  # the deadline ended the body: what was read may not be all of it
        resp.close()
        raise timeout_error(what, url, resp.bound)
    resp.release()
    return h.digest(), None if kept is None else b"".join(kept)
