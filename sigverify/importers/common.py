"""What an importer produces: sigverify policies (plain data), and every field it could not carry over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigverify.policy.yamlstrict import KeyPath, YamlDoc, format_path

PUBLIC_REKOR = ("https://rekor.sigstore.dev", "https://rekor.sigstore.dev/")
PUBLIC_FULCIO = ("https://fulcio.sigstore.dev", "https://fulcio.sigstore.dev/")


@dataclass(frozen=True)
class Finding:
    """One field of the source that was not carried over as written: where, what, and what to do."""

    file: str
    line: int | None
    path: str
    message: str
    tip: str | None = None
    blocking: bool = True  # unsupported (exit 2); False: admission-only, reported and left out

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        kind = "unsupported" if self.blocking else "not carried over"
        text = f"{where}: {self.path}: {kind}: {self.message}"
        return text + (f"\n    tip: {self.tip}" if self.tip else "")


@dataclass
class Imported:
    """Policies built so far (sigverify config shape) and the findings, with the source they came from."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


@dataclass
class Doc:
    """One source document being read: its data, its lines and where findings go."""

    doc: YamlDoc
    file: str
    out: Imported
    base: KeyPath = ()

    def line(self, path: KeyPath) -> int | None:
        return self.doc.line((*self.base, *path))

    def unsupported(self, path: KeyPath, message: str, tip: str | None = None) -> None:
        self.out.findings.append(Finding(self.file, self.line(path), format_path(path), message, tip))

    def left_out(self, path: KeyPath, message: str) -> None:
        self.out.findings.append(Finding(self.file, self.line(path), format_path(path), message, blocking=False))

    def unknown_keys(self, path: KeyPath, value: dict[str, Any], known: set[str],
                     admission: frozenset[str] | set[str] = frozenset()) -> None:
        """Every key not understood is unsupported; admission-only keys are reported and left out."""
        for k in value:
            if k in admission:
                self.left_out((*path, k), "applies to admission in the cluster only, not to a CI gate")
            elif k not in known:
                self.unsupported((*path, k), f"'{k}' has no sigverify equivalent")


def unique_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted-2``, ``-3``... so that policy and authority names stay unique."""
    name = wanted.strip()[:190] or "imported"
    n = 2
    candidate = name
    while candidate in taken:
        candidate = f"{name}-{n}"
        n += 1
    taken.add(candidate)
    return candidate
