"""Error types that carry diagnostics: what failed, expected vs found, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from sigverify.models import Code, Reason


class SigverifyError(Exception):
    """Base class. ``code`` is a machine-readable reason code (see ``sigverify.codes``)."""

    code: str = Code.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        tip: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.expected = expected
        self.found = found
        self.tip = tip

    def message_and_tip(self) -> str:
        """The message, and the tip after it (what to change) when there is one: for a report reason."""
        return self.message + (f" Tip: {self.tip}" if self.tip else "")

    def diagnostics(self) -> str:
        """A multi-line human explanation: message, expected/found, tip."""
        lines = [self.message]
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.found is not None:
            lines.append(f"  found:    {self.found}")
        if self.tip:
            lines.append(f"  Tip: {self.tip}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.diagnostics()


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located at file:line."""

    file: str
    line: int | None
    key: str | None
    message: str
    expected: str | None = None
    found: str | None = None

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        head = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        parts = [head]
        if self.expected is not None:
            parts.append(f"    expected: {self.expected}")
        if self.found is not None:
            parts.append(f"    found:    {self.found}")
        return "\n".join(parts)


class ConfigError(SigverifyError):
    """Bad configuration or usage: exit code 2, nothing is verified."""

    code = "CONFIG_ERROR"

    def __init__(self, problems: list[ConfigProblem] | ConfigProblem | str, *, tip: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(file="<arguments>", line=None, key=None, message=problems)]
        elif isinstance(problems, ConfigProblem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems), tip=tip)


class InvalidReferenceError(SigverifyError):
    """An image reference that does not follow the distribution reference grammar."""

    code = Code.INVALID_REFERENCE


class RegistryError(SigverifyError):
    """A registry (or OCI layout) failure; ``code`` is one of the registry categories.

    Categories (``models.Code``): AUTH_ERROR, NOT_FOUND, RATE_LIMITED, REGISTRY_ERROR, TIMEOUT, DIGEST_MISMATCH,
    SIZE_LIMIT, INSECURE_REFUSED, UNSUPPORTED_FORMAT.
    Messages name the URL but never a credential.
    """

    code = Code.REGISTRY_ERROR

    def __init__(
        self,
        message: str,
        *,
        code: str = Code.REGISTRY_ERROR,
        url: str | None = None,
        status: int | None = None,
        expected: str | None = None,
        found: str | None = None,
        tip: str | None = None,
    ) -> None:
        super().__init__(message, code=code, expected=expected, found=found, tip=tip)
        self.url = url
        self.status = status


class NotFoundError(RegistryError):
    """The manifest, blob or tag does not exist (HTTP 404 or absent from the layout)."""

    def __init__(self, message: str, *, url: str | None = None, tip: str | None = None) -> None:
        super().__init__(message, code=Code.NOT_FOUND, url=url, status=404, tip=tip)


class KeyMaterialError(SigverifyError):
    """Key material that cannot be loaded or used (bad PEM, unsupported type, KMS failure)."""

    code = Code.KEY_ERROR


class Failure(Exception):
    """One failed check inside a verifier: a reason code, a message, expected vs found, and the signer when it
    could be read. Verifiers turn it into a failed SignatureCheck (never a pass, never an exit)."""

    def __init__(
        self,
        code: str,
        message: str,
        expected: str | None = None,
        found: str | None = None,
        *,
        signer: str | None = None,
        tip: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.expected = expected
        self.found = found
        self.signer = signer
        self.tip = tip

    def reason(self, *, authority: str | None = None) -> Reason:
        return Reason(self.code, self.message, expected=self.expected, found=self.found, authority=authority)
