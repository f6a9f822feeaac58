"""The interface of a signature verifier: one candidate and one authority in, one SignatureCheck out."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sigverify.models import Candidate, Descriptor, ImageRef, SignatureCheck

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.policy.model import Authority


@dataclass(frozen=True)
class VerifyContext:
    """What every verifier needs besides the candidate and the authority.

    ``digest`` is the digest resolved once for the image: every signature must be bound to exactly it.
    ``subject`` is the resolved manifest's descriptor (media type, size) for formats that sign a descriptor.
    ``trust`` lazily loads trust roots (Sigstore trusted root, Rekor keys) — only when a verifier asks.
    """

    image: ImageRef
    digest: str
    subject: Descriptor
    trust: TrustStore
    offline: bool = True
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))


class Verifier(Protocol):
    """Verifies candidates of some formats for some authority kinds. Never raises for a bad signature:
    a failure is a ``SignatureCheck(ok=False, reason=...)``. May raise only for broken configuration."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck: ...
