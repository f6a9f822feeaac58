"""Trust material loaded lazily once per run: the Sigstore trusted root (embedded, file, or TUF)."""

from __future__ import annotations


class TrustStore:
    """Placeholder interface, implemented by the cosign/Rekor work.

    ``spec`` is ``embedded`` (production root shipped in sigstore-python), ``tuf`` or a path to trusted_root.json.
    """

    def __init__(self, spec: str = "embedded", *, offline: bool = True) -> None:
        self.spec = spec
        self.offline = offline

    @property
    def label(self) -> str:
        return self.spec
