"""What the key-service modules say alike: a malformed key URI, the offline way out, a scrubbed SDK message."""

from __future__ import annotations

import re

from sigverify.errors import KeyMaterialError


def malformed_uri(uri: str, grammar: str, tip: str) -> KeyMaterialError:
    """The error for a key URI that does not fit its scheme's grammar."""
    return KeyMaterialError(f"malformed key URI {uri!r}", expected=grammar, found=uri, tip=tip)


def match_uri(pattern: re.Pattern[str], uri: str, grammar: str, tip: str) -> tuple[str, re.Match[str]]:
    """The stripped URI and its whole match of ``pattern``; ``malformed_uri`` when it does not fit."""
    text = uri.strip()
    m = pattern.fullmatch(text)
    if m is None:
        raise malformed_uri(uri, grammar, tip)
    return text, m


def offline_tip(command: str) -> str:
    """The way out without the key service: the command that exports the public key, then a key file."""
    return f"Or verify offline with the exported public key: {command}, then key: {{path: vendor.pem}}."


def scrub(text: str, token: str | re.Pattern[str], placeholder: str, *, secrets: tuple[tuple[str, str], ...] = (),
          cut: str | None = None, limit: int = 300) -> str:
    """An SDK message fit to show: white space folded, tokens and the given secrets replaced, the rest after
    ``cut`` dropped, at most ``limit`` characters."""
    text = re.sub(token, placeholder, " ".join(text.split()))
    for value, shown in secrets:
        if value:
            text = text.replace(value, shown)
    if cut is not None:
        text = text.split(cut)[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"
