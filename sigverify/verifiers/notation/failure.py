"""The internal failure value of one Notary Project check (turned into a Reason by the verifier)."""

from __future__ import annotations


class CheckFailed(Exception):
    """One check failed: reason code, message (with a Tip where useful), expected vs found."""

    def __init__(self, code: str, message: str, *, expected: str | None = None, found: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.expected = expected
        self.found = found
