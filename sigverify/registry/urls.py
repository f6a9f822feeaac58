"""URLs and header values from registries: origins, redaction for output, Link and Retry-After, proxies."""

from __future__ import annotations

import os
import re
import time
import urllib.parse

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: what "the same origin" compares."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def redact_url(url: str) -> str:
    """A URL safe to print: no userinfo, no fragment, and the whole query string replaced by ``REDACTED``
    (signed storage URLs carry their signature in parameters of any name)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "REDACTED" if parts.query else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """Registry-supplied text with every URL in it redacted (a realm or Location quoted in an error body)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped; None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    import email.utils  # only for the rare HTTP-date form

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


def next_link(header: str | None) -> str | None:
    """The target of ``rel="next"`` in a Link header (RFC 8288), or None."""
    if not header:
        return None
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)", header):
        params = [p.strip() for p in match.group(2).split(";") if p.strip()]
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1)
    return None


def without_userinfo(url: str) -> str:
    """Drop ``user:pass@`` from a redirect target: it must never turn into Basic auth."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for ``url``, or None."""
    if not any(v and k[-6:].lower() == "_proxy" for k, v in os.environ.items()):
        return None  # no proxy variable at all (what urllib.request would also find): skip importing it
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if proxies.get("no") and urllib.request.proxy_bypass(host):
        return None
    return proxies.get(parts.scheme.lower()) or proxies.get("all")
