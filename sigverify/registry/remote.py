"""A Source over the OCI distribution API: resolve tags once, fetch by digest, referrers with tag fallback."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import TypeVar

from sigverify.errors import NotFoundError, RegistryError
from sigverify.models import Code, Descriptor, ImageRef, Manifest
from sigverify.registry.auth import Authenticator
from sigverify.registry.base import (
    MANIFEST_ACCEPT,
    MAX_BLOB_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_REFERRERS,
    Referrers,
)
from sigverify.registry.content import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    bare_media_type,
    check_digest,
    check_reference,
    check_repository,
    digest_of,
    fallback_tag,
    index_descriptors,
    is_digest,
    manifest_descriptor,
    parse_manifest,
    verify_digest,
)
from sigverify.registry.limits import Bound, bounded
from sigverify.registry.response import ReadError, Response, discard, read_capped, read_error_detail
from sigverify.registry.transport import Transport
from sigverify.registry.urls import next_link, origin_of, redact_url

ACCEPT_MANIFESTS = ", ".join(MANIFEST_ACCEPT)
REFERRERS_UNSUPPORTED = frozenset({400, 404, 405, 501})
MAX_REFERRER_PAGES = 50
T = TypeVar("T")


class RemoteSource:
    """Read-only, thread-safe access to one registry host. Every method verifies what it returns.

    One RemoteSource is handed out per image (sharing the host's pool and auth state); ``bound`` is that image's
    deadline (the per-image bound, or the run's --timeout if it comes first): every request ends by then.
    """

    def __init__(self, registry: str, transport: Transport, auth: Authenticator, bound: Bound | None = None) -> None:
        self.registry = registry
        self.transport = transport
        self.auth = auth
        self.bound = bound

    # -- Source protocol ------------------------------------------------------------------------------------

    def resolve(self, ref: ImageRef) -> Descriptor:
        """Tag -> digest (the only step that trusts the registry); a digest reference is confirmed to exist.

        The digest of a tag is the ``Docker-Content-Digest`` of the HEAD answer (as cosign and crane do: Docker
        Hub counts manifest GETs, not HEADs, against its pull limits); everything after is fetched by that digest
        and digest-checked, so the gate verifies exactly the digest it reports.
        """
        with bounded(self.bound):
            return self._resolve(ref)

    def get_manifest(self, ref: ImageRef, reference: str, *, max_size: int = MAX_MANIFEST_BYTES) -> Manifest:
        with bounded(self.bound):
            return self._get_manifest(ref, reference, max_size=max_size)

    def get_blob(self, ref: ImageRef, descriptor: Descriptor, *, max_size: int = MAX_BLOB_BYTES) -> bytes:
        with bounded(self.bound):
            return self._get_blob(ref, descriptor, max_size=max_size)

    def referrers(self, ref: ImageRef, digest: str) -> Referrers:
        with bounded(self.bound):
            return self._referrers(ref, digest)

    # -- the requests ---------------------------------------------------------------------------------------

    def _resolve(self, ref: ImageRef) -> Descriptor:
        repo = check_repository(ref.repository)
        if ref.digest is not None:
            reference = check_digest(ref.digest, f"reference {ref}")
        elif ref.tag is not None:
            reference = check_reference(ref.tag)
        else:
            raise RegistryError(f"{ref}: neither a tag nor a digest to resolve", code=Code.INVALID_REFERENCE)
        url = self._url(repo, f"manifests/{reference}")
        resp = self._request("HEAD", repo, url, {"Accept": ACCEPT_MANIFESTS})
        if resp.status_code in (405, 501):
            discard(resp)
            return self.get_manifest(ref, reference).descriptor
        if resp.status_code != 200:
            self._raise_for(resp, "HEAD", url, what=f"manifest {reference}")
        header_digest = (resp.headers.get("Docker-Content-Digest") or "").strip()
        media_type = bare_media_type(resp.headers.get("Content-Type"))
        length = resp.headers.get("Content-Length", "")
        discard(resp)
        usable = (
            is_digest(header_digest)
            and media_type in (INDEX_TYPES | MANIFEST_TYPES)
            and length.isdigit()
            and 0 < int(length) <= MAX_MANIFEST_BYTES
        )
        if reference.startswith(("sha256:", "sha512:")):
            same_algorithm = header_digest.split(":")[0] == reference.split(":")[0]
            if is_digest(header_digest) and same_algorithm and header_digest != reference:
                raise RegistryError(
                    f"HEAD {redact_url(url)}: the registry names another digest for this manifest",
                    code=Code.DIGEST_MISMATCH,
                    url=redact_url(url),
                    expected=reference,
                    found=header_digest,
                )
            if not usable or header_digest != reference:
                return self.get_manifest(ref, reference).descriptor
            digest = reference
        else:
            if not usable:
                return self.get_manifest(ref, reference).descriptor
            digest = header_digest
        assert media_type is not None
        return Descriptor(media_type=media_type, digest=digest, size=int(length))

    def _get_manifest(self, ref: ImageRef, reference: str, *, max_size: int = MAX_MANIFEST_BYTES) -> Manifest:
        repo = check_repository(ref.repository)
        check_reference(reference)
        url = self._url(repo, f"manifests/{reference}")
        what = f"manifest {reference}"

        def fetch() -> tuple[bytes, str | None]:
            resp = self._request("GET", repo, url, {"Accept": ACCEPT_MANIFESTS})
            if resp.status_code != 200:
                self._raise_for(resp, "GET", url, what=what)
            content_type = resp.headers.get("Content-Type")
            return self._read(resp, max_size, what, url), content_type

        raw, content_type = self._retry_dropped(fetch)
        if is_digest(reference):
            verify_digest(raw, reference, f"GET {redact_url(url)}")
            digest = reference
        else:
            digest = digest_of(raw, "sha256")
        obj = parse_manifest(raw, content_type, f"GET {redact_url(url)}")
        return Manifest(descriptor=manifest_descriptor(obj, raw, digest, content_type), raw=raw)

    def _get_blob(self, ref: ImageRef, descriptor: Descriptor, *, max_size: int = MAX_BLOB_BYTES) -> bytes:
        repo = check_repository(ref.repository)
        digest = check_digest(descriptor.digest, f"blob of {ref}")
        url = self._url(repo, f"blobs/{digest}")
        if descriptor.size > max_size:
            raise RegistryError(
                f"blob {digest} of {ref} is larger than allowed (not fetched)",
                code=Code.SIZE_LIMIT,
                url=redact_url(url),
                expected=f"at most {max_size} bytes",
                found=f"{descriptor.size} bytes (descriptor size)",
            )

        def fetch() -> bytes:
            resp = self._request("GET", repo, url, {"Accept": "*/*"})
            if resp.status_code != 200:
                self._raise_for(resp, "GET", url, what=f"blob {digest}")
            return self._read(resp, descriptor.size, f"blob {digest}", url)

        data = self._retry_dropped(fetch)
        if len(data) != descriptor.size:
            raise RegistryError(
                f"GET {redact_url(url)}: blob size does not match its descriptor",
                code=Code.DIGEST_MISMATCH,
                url=redact_url(url),
                expected=f"{descriptor.size} bytes",
                found=f"{len(data)} bytes",
            )
        verify_digest(data, digest, f"GET {redact_url(url)}")
        return data

    def _referrers(self, ref: ImageRef, digest: str) -> Referrers:
        repo = check_repository(ref.repository)
        check_digest(digest, f"referrers of {ref}")
        url: str | None = self._url(repo, f"referrers/{digest}")
        found: list[Descriptor] = []
        pages = 0
        while url is not None:
            pages += 1
            resp = self._request("GET", repo, url, {"Accept": OCI_INDEX})
            if pages == 1 and resp.status_code in REFERRERS_UNSUPPORTED:
                discard(resp)
                return self._referrers_tag(ref, digest)
            if resp.status_code != 200:
                self._raise_for(resp, "GET", url, what=f"referrers of {digest}")
            link = next_link(resp.headers.get("Link"))
            content_type = resp.headers.get("Content-Type")
            raw = self._read(resp, MAX_MANIFEST_BYTES, "referrers index", url)
            where = f"GET {redact_url(url)}"
            obj = parse_manifest(raw, content_type, where)
            found.extend(index_descriptors(obj, where, MAX_REFERRERS))
            if len(found) > MAX_REFERRERS:
                raise RegistryError(
                    f"{where}: more than {MAX_REFERRERS} referrers for {digest}",
                    code=Code.SIZE_LIMIT,
                    expected=f"at most {MAX_REFERRERS}",
                    found=f"{len(found)} so far",
                )
            url = self._next_page(url, link, pages)
        return Referrers(tuple(found), "referrers API")

    # -- internals ------------------------------------------------------------------------------------------

    def _referrers_tag(self, ref: ImageRef, digest: str) -> Referrers:
        tag = fallback_tag(digest)
        try:
            manifest = self.get_manifest(ref, tag)
        except NotFoundError:
            return Referrers((), "referrers tag")
        where = f"referrers tag {tag} of {ref.name}"
        if manifest.descriptor.media_type not in INDEX_TYPES:
            raise RegistryError(
                f"{where}: is not an image index",
                expected=OCI_INDEX,
                found=manifest.descriptor.media_type,
            )
        obj = parse_manifest(manifest.raw, None, where)
        return Referrers(tuple(index_descriptors(obj, where, MAX_REFERRERS)), "referrers tag")

    def _next_page(self, current: str, link: str | None, pages: int) -> str | None:
        if not link:
            return None
        target = urllib.parse.urljoin(current, link)
        if origin_of(target) != self.transport.origin:
            raise RegistryError(
                f"GET {redact_url(current)}: referrers pagination points to another origin",
                url=redact_url(current),
                expected=self.transport.base,
                found=redact_url(target),
            )
        if pages >= MAX_REFERRER_PAGES:
            raise RegistryError(
                f"GET {redact_url(current)}: more than {MAX_REFERRER_PAGES} pages of referrers",
                code=Code.SIZE_LIMIT,
                url=redact_url(current),
            )
        return target

    def _url(self, repo: str, path: str) -> str:
        return f"{self.transport.base}/v2/{repo}/{path}"

    def _request(self, method: str, repo: str, url: str, headers: dict[str, str]) -> Response:
        """Send with the right credentials; on a 401, learn the challenge and retry once."""
        prober = self.auth.begin()
        try:
            authorization = self.auth.authorization(repo)
            resp = self.transport.send(method, url, headers, authorization=authorization)
            if resp.status_code == 401:
                authorization2 = self.auth.on_unauthorized(resp, repo, authorization)
                resp = self.transport.send(method, url, headers, authorization=authorization2)
                if resp.status_code == 401:
                    raise self._denied(resp, method, url, repo)
            return resp
        finally:
            if prober:
                self.auth.end_probe()

    def _denied(self, resp: Response, method: str, url: str, repo: str) -> RegistryError:
        """A 401 although we authenticated: bad credentials (Basic) or a token without access (Bearer)."""
        detail = read_error_detail(resp) if method != "HEAD" else None
        discard(resp)
        cred = self.auth.keychain.get(self.auth.host)
        if self.auth.mode == "basic" or cred is None:
            return self.auth._rejected(url, cred, detail=detail)
        who = f"user {cred.username!r}" if cred.username else "an identity token"
        return RegistryError(
            f"{method} {redact_url(url)}: access denied to repository {repo} after authenticating as {who} "
            f"with credentials from {cred.source} (HTTP 401" + (f"; registry said: {detail}" if detail else "") + ")",
            code=Code.AUTH_ERROR,
            url=redact_url(url),
            status=401,
            tip="Check that this account may pull the repository and that the password/token is current.",
        )

    def _read(self, resp: Response, cap: int, what: str, url: str) -> bytes:
        return read_capped(resp, cap, what, url)

    @staticmethod
    def _retry_dropped(fetch: Callable[[], T]) -> T:
        """A connection that drops in the middle of a body is retried once."""
        try:
            return fetch()
        except ReadError:
            return fetch()

    def _raise_for(self, resp: Response, method: str, url: str, *, what: str) -> None:
        status = resp.status_code
        detail = read_error_detail(resp) if method != "HEAD" else None
        if method == "HEAD":
            discard(resp)
        said = f" (registry said: {detail})" if detail else ""
        where = f"{method} {redact_url(url)}"
        if status == 404:
            raise NotFoundError(
                f"{where}: {what} not found{said}",
                url=redact_url(url),
                tip="Check the repository, tag or digest; it may have been deleted or never pushed.",
            )
        if status in (401, 403):
            cred = self.auth.keychain.get(self.auth.host)
            raise RegistryError(
                f"{where}: access denied (HTTP {status}){said}",
                code=Code.AUTH_ERROR,
                url=redact_url(url),
                status=status,
                tip=f"Check that {cred.source if cred else 'your credentials'} may pull this repository.",
            )
        if status == 429:
            retry_after = (resp.headers.get("Retry-After") or "").strip()[:40]
            asked = f"; Retry-After: {retry_after}" if retry_after else ""
            raise RegistryError(
                f"{where}: rate limited (HTTP 429{asked}), gave up: sigverify makes at most {self.transport.retry.attempts} attempts and waits at most {self.transport.retry.max_retry_after:g} s when asked{said}",  # noqa: E501
                code=Code.RATE_LIMITED,
                url=redact_url(url),
                status=status,
                tip="Authenticate to get a higher limit, lower --concurrency, or retry later.",
            )
        raise RegistryError(
            f"{where}: unexpected HTTP {status} {resp.reason or ''}".rstrip() + said,
            code=Code.REGISTRY_ERROR,
            url=redact_url(url),
            status=status,
        )
