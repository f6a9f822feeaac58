"""Registry authentication: WWW-Authenticate parsing, Basic, Bearer tokens cached per scope (single flight)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.credentials import Credential, Keychain
from sigverify.registry.limits import current_bound
from sigverify.registry.response import Response, discard, json_object, read_capped, read_error_detail
from sigverify.registry.transport import Transport
from sigverify.registry.urls import origin_of, redact_text, redact_url

MAX_TOKEN_RESPONSE = 1024 * 1024
MIN_TOKEN_LIFETIME = 60  # seconds, as the docker token spec says when expires_in is absent or smaller
EXPIRY_MARGIN = 10.0  # a cached token is renewed this long before it expires (or at 90% of a short life)
MAX_TOKEN_LIFETIME = 24 * 3600.0  # never trust a token longer than this, whatever expires_in says


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: scheme (lowercase) and parameters (lowercase names)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)


_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` (RFC 7235): several challenges, quoted strings with commas and escapes."""
    out: list[Challenge] = []
    n = len(header)
    i = 0

    def skip_ws(j: int) -> int:
        while j < n and header[j] in " \t":
            j += 1
        return j

    def read_token(j: int) -> tuple[str, int]:
        start = j
        while j < n and header[j] in _TCHAR:
            j += 1
        return header[start:j], j

    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        if i >= n:
            break
        scheme, i = read_token(i)
        if not scheme:
            break  # garbage: stop rather than guess
        params: dict[str, str] = {}
        i = skip_ws(i)
        while i < n:
            save = i
            while i < n and header[i] in " \t,":
                i += 1
            name, j = read_token(i)
            j = skip_ws(j)
            if not name or j >= n or header[j] != "=":
                i = save
                break
            j = skip_ws(j + 1)
            if j < n and header[j] == '"':
                j += 1
                buf = []
                while j < n and header[j] != '"':
                    if header[j] == "\\" and j + 1 < n:
                        j += 1
                    buf.append(header[j])
                    j += 1
                j += 1  # closing quote (or end)
                value = "".join(buf)
            else:
                value, j = read_token(j)
                # token68 tail such as "abc==" is not an auth-param; keep going
                while j < n and header[j] == "=":
                    j += 1
            params[name.lower()] = value
            i = skip_ws(j)
            if i < n and header[i] != ",":
                break
        out.append(Challenge(scheme.lower(), params))
        # skip whatever is left of a malformed challenge up to the next comma
        while i < n and header[i] not in ",":
            if header[i] in _TCHAR:
                break
            i += 1
    return out


def token_lifetime(obj: Mapping[str, object] | None, now: float | None = None) -> float:
    """Seconds a token stays valid from when it was asked for: ``expires_in`` (at least 60 s, the docker token
    spec's default, at most a day), less the time since ``issued_at`` if the server says it was issued earlier."""
    raw = obj.get("expires_in") if obj is not None else None
    seconds = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
    seconds = min(max(seconds, float(MIN_TOKEN_LIFETIME)), MAX_TOKEN_LIFETIME)
    issued = obj.get("issued_at") if obj is not None else None
    if isinstance(issued, str):
        try:
            when = dt.datetime.fromisoformat(issued.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            age = (time.time() if now is None else now) - when.timestamp()
            if age > 0:  # issued before we asked (a cached token) has less left; never below a minute, so
                seconds = max(seconds - age, float(MIN_TOKEN_LIFETIME))  # a skewed clock is not a token per request
    return seconds


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


class Authenticator:
    """Authentication state of one registry host, shared by all threads.

    The first request to a host goes out alone (others wait for it) so that a registry needing auth answers
    one 401, not one per thread. After the challenge is known, requests carry credentials up front: Basic, or a
    Bearer token fetched once per scope and reused until it expires.
    """

    def __init__(self, host: str, transport: Transport, keychain: Keychain, *, timeout: float) -> None:
        self.host = host
        self.transport = transport
        self.keychain = keychain
        self.timeout = timeout
        self.mode: str | None = None  # None (unknown) | anonymous | basic | bearer
        self.realm: str | None = None
        self.service: str | None = None
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._known = threading.Event()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_locks: dict[str, threading.Lock] = {}
        self.token_requests = 0

    # -- per request ----------------------------------------------------------------------------------------

    def begin(self) -> bool:
        """Wait until the auth mode is known, or become the one probing it. Returns True for the prober."""
        if self._known.is_set():
            return False
        if self._probe_lock.acquire(blocking=False):
            if self._known.is_set():
                self._probe_lock.release()
                return False
            return True
        bound = current_bound()
        self._known.wait(max(0.0, min(self.timeout * 2, bound.remaining() if bound else self.timeout * 2)))
        return False

    def end_probe(self) -> None:
        """The prober finished (whatever happened): let the others go."""
        with self._lock:
            if self.mode is None:
                self.mode = "anonymous"
        self._known.set()
        self._probe_lock.release()

    def authorization(self, repository: str) -> str | None:
        """The Authorization header for a request in ``repository`` given what we know, or None."""
        mode = self.mode
        if mode == "basic":
            cred = self._credential()
            return cred.basic() if cred is not None else None
        if mode == "bearer":
            return "Bearer " + self.token(pull_scope(repository))
        return None

    def on_unauthorized(self, resp: Response, repository: str, sent: str | None) -> str:
        """React to a 401: learn the challenge and return the Authorization to retry with, or raise AUTH_ERROR."""
        header = resp.headers.get("WWW-Authenticate", "")
        url = resp.url
        discard(resp)
        challenges = parse_challenges(header)
        if not challenges:
            challenges = self._ping()
        chosen = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if chosen is None:
            raise RegistryError(
                f"{redact_url(url)}: authentication required, but the registry offered no usable challenge",
                code=Code.AUTH_ERROR,
                url=redact_url(url),
                found=redact_text(header[:200]) or "(no WWW-Authenticate header)",
                tip="Only Basic and Bearer token authentication are supported.",
            )
        if chosen.scheme == "basic":
            cred = self._credential()
            with self._lock:
                self.mode = "basic"
            if cred is None:
                raise self._no_credentials(url)
            auth = cred.basic()
            if sent == auth:
                raise self._rejected(url, cred)
            return auth
        realm = chosen.params.get("realm", "")
        self._check_realm(realm, url)
        with self._lock:
            self.mode = "bearer"
            self.realm = realm
            self.service = chosen.params.get("service")
        scope = chosen.params.get("scope") or pull_scope(repository)
        if sent is not None and sent.startswith("Bearer "):
            # a token we sent was refused: maybe expired early or too narrow; fetch once more, then give up
            self._drop_token(sent[len("Bearer ") :])
            token = self.token(scope)
            if "Bearer " + token == sent:
                raise self._rejected(url, self._credential())
            return "Bearer " + token
        return "Bearer " + self.token(scope)

    # -- tokens ---------------------------------------------------------------------------------------------

    def token(self, scope: str) -> str:
        """A cached Bearer token for ``scope``: one token request per registry and scope for the whole run, shared
        by every thread (single flight) and reused until shortly before it expires."""
        now = time.monotonic()
        with self._lock:
            hit = self._tokens.get(scope)
            if hit is not None and hit[1] > now:
                return hit[0]
            lock = self._token_locks.setdefault(scope, threading.Lock())
        with lock:
            with self._lock:
                hit = self._tokens.get(scope)
                if hit is not None and hit[1] > time.monotonic():
                    return hit[0]
            asked = time.monotonic()
            token, lifetime = self._fetch_token(scope)
            margin = min(EXPIRY_MARGIN, lifetime / 10)
            with self._lock:
                self._tokens[scope] = (token, asked + max(lifetime - margin, 1.0))
            return token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            for scope, (value, _exp) in list(self._tokens.items()):
                if value == token:
                    del self._tokens[scope]

    def _fetch_token(self, scope: str) -> tuple[str, float]:
        realm = self.realm
        assert realm is not None
        cred = self._credential()
        query: dict[str, str] = {}
        if self.service:
            query["service"] = self.service
        query["scope"] = scope
        realm_origin = origin_of(realm)
        headers = {"Accept": "application/json"}
        with self._lock:
            self.token_requests += 1
        if cred is not None and cred.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "client_id": "sigverify",
                **query,
            }
            resp = self.transport.send(
                "POST",
                realm,
                {**headers, "Content-Type": "application/x-www-form-urlencoded"},
                body=urllib.parse.urlencode(form).encode(),
                auth_origin=realm_origin,
            )
        else:
            sep = "&" if "?" in realm else "?"
            url = realm + sep + urllib.parse.urlencode(query)
            resp = self.transport.send(
                "GET",
                url,
                headers,
                authorization=cred.basic() if cred is not None else None,
                auth_origin=realm_origin,
            )
        if resp.status_code in (401, 403):
            detail = read_error_detail(resp)
            if cred is None:
                raise RegistryError(
                    f"token server {redact_url(realm)} refused anonymous access to {scope} "
                    f"(HTTP {resp.status_code}{'; ' + detail if detail else ''})",
                    code=Code.AUTH_ERROR,
                    url=redact_url(realm),
                    status=resp.status_code,
                    tip=self._login_tip(),
                )
            raise self._rejected(realm, cred, status=resp.status_code, detail=detail)
        if resp.status_code != 200:
            detail = read_error_detail(resp)
            raise RegistryError(
                f"token server {redact_url(realm)} answered HTTP {resp.status_code} for {scope}"
                + (f" ({detail})" if detail else ""),
                code=Code.AUTH_ERROR,
                url=redact_url(realm),
                status=resp.status_code,
            )
        body = read_capped(resp, MAX_TOKEN_RESPONSE, "token response", realm)
        obj = json_object(body)
        token = None
        if obj is not None:
            token = obj.get("token") or obj.get("access_token")
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise RegistryError(
                f"token server {redact_url(realm)} returned no token for {scope}",
                code=Code.AUTH_ERROR,
                url=redact_url(realm),
                expected='a JSON object with "token" or "access_token"',
            )
        return token, token_lifetime(obj)

    # -- helpers --------------------------------------------------------------------------------------------

    def _credential(self) -> Credential | None:
        return self.keychain.get(self.host)

    def _ping(self) -> list[Challenge]:
        resp = self.transport.send("GET", self.transport.base + "/v2/", {})
        header = resp.headers.get("WWW-Authenticate", "")
        discard(resp)
        return parse_challenges(header) if resp.status_code == 401 else []

    def _check_realm(self, realm: str, url: str) -> None:
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(
                f"{redact_url(url)}: the registry's token realm is not an http(s) URL",
                code=Code.AUTH_ERROR,
                found=redact_url(realm[:200]),
            )
        if parts.scheme == "http" and not self.transport.insecure:
            raise RegistryError(
                f"{redact_url(url)}: the registry's token realm {redact_url(realm)} is plain http",
                code=Code.INSECURE_REFUSED,
                expected="an https token realm",
                tip="Credentials are never sent over plain HTTP unless the registry is marked `insecure: true`.",
            )

    def _login_tip(self) -> str:
        return (
            f"Provide credentials for {self.host}: `docker login {self.host}` (config.json / credential helper) "
            f"or `registries: {{{self.host}: {{username_env: ..., password_env: ...}}}}`."
        )

    def _no_credentials(self, url: str) -> RegistryError:
        return RegistryError(
            f"{redact_url(url)}: the registry requires authentication and no credentials were found for "
            f"{self.host} (looked in the config's username_env/password_env and {self.keychain.config_path})",
            code=Code.AUTH_ERROR,
            url=redact_url(url),
            status=401,
            tip=self._login_tip(),
        )

    def _rejected(
        self, url: str, cred: Credential | None, *, status: int = 401, detail: str | None = None
    ) -> RegistryError:
        if cred is None:
            return self._no_credentials(url)
        who = f"user {cred.username!r}" if cred.username else "identity token"
        return RegistryError(
            f"{redact_url(url)}: credentials from {cred.source} ({who}) were rejected (HTTP {status}"
            + (f"; {detail}" if detail else "")
            + ")",
            code=Code.AUTH_ERROR,
            url=redact_url(url),
            status=status,
            tip="Check the username and password/token; they are never printed.",
        )
