"""Strict in-toto statement parsing (v0.1 and v1; subject ``name`` optional, as cosign v3 omits it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigverify.models import Code, Reason

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
MAX_SUBJECTS = 1024
STRONG_DIGESTS = ("sha256", "sha384", "sha512")  # a subject matches a file only through one of these
WEAK_DIGESTS = ("sha1", "md5")  # compared when named (they must not disagree), never enough alone


class StatementError(ValueError):
    """The DSSE payload is not a well-formed in-toto statement."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found

    def reason(self) -> Reason:
        return Reason(Code.INVALID_PAYLOAD, self.message, expected=self.expected, found=self.found)


@dataclass(frozen=True)
class Subject:
    name: str | None
    digest: Mapping[str, str]
    annotations: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    type: str
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Any = None

    def subject_for(self, sha256_hex: str) -> Subject | None:
        """The first subject whose ``digest.sha256`` equals ``sha256_hex`` (hex compared case-insensitively)."""
        want = sha256_hex.lower()
        for s in self.subjects:
            if s.digest.get("sha256", "").lower() == want:
                return s
        return None

    def match_subject(self, digest_of: Callable[[str], bytes | None]) -> Subject | None:
        """The first subject the artifact matches: each digest it names with an algorithm sigverify knows is
        compared with ``digest_of(algorithm)`` (None: not known for this artifact, not compared); at least one
        strong algorithm (sha256, sha384, sha512) must match and none may disagree."""
        for s in self.subjects:
            strong = False
            for algorithm, value in s.digest.items():
                if algorithm not in STRONG_DIGESTS and algorithm not in WEAK_DIGESTS:
                    continue
                have = digest_of(algorithm)
                if have is None:
                    continue
                if have.hex() != value.lower():
                    strong = False
                    break
                strong = strong or algorithm in STRONG_DIGESTS
            if strong:
                return s
        return None

    def subject_digests(self) -> list[str]:
        return [f"{alg}:{v}" for s in self.subjects for alg, v in sorted(s.digest.items())]


def parse_statement(payload_type: str | None, payload: bytes) -> Statement:
    """Parse the DSSE payload as an in-toto statement; reject anything loose (duplicate keys, wrong types)."""
    from sigverify.crypto.strictjson import PayloadError, loads_object

    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise StatementError("the DSSE payload is not an in-toto statement",
                             expected=f"payloadType {INTOTO_PAYLOAD_TYPE}", found=f"payloadType {payload_type}")
    try:
        doc = loads_object(payload, what="in-toto statement")
    except PayloadError as e:
        raise StatementError(f"invalid in-toto statement: {e.message}", expected=e.expected, found=e.found) from None
    st_type = doc.get("_type")
    if st_type not in STATEMENT_TYPES:
        raise StatementError("unknown in-toto statement type", expected=" or ".join(STATEMENT_TYPES),
                             found=repr(st_type))
    subjects_raw = doc.get("subject")
    if not isinstance(subjects_raw, list) or not subjects_raw or len(subjects_raw) > MAX_SUBJECTS:
        raise StatementError("the statement's subject must be a non-empty list",
                             expected=f"1..{MAX_SUBJECTS} subjects", found=repr(type(subjects_raw).__name__))
    subjects: list[Subject] = []
    for i, s in enumerate(subjects_raw):
        if not isinstance(s, dict):
            raise StatementError(f"subject[{i}] is not an object")
        name = s.get("name")
        if name is not None and not isinstance(name, str):
            raise StatementError(f"subject[{i}].name is not a string")
        digest = s.get("digest")
        if not isinstance(digest, dict) or not digest or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in digest.items()
        ):
            raise StatementError(f"subject[{i}].digest must map algorithm names to hex strings")
        ann = s.get("annotations", {})
        if ann is None:
            ann = {}
        if not isinstance(ann, dict):
            raise StatementError(f"subject[{i}].annotations is not an object")
        subjects.append(Subject(name=name, digest=dict(digest), annotations=dict(ann)))
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise StatementError("the statement has no predicateType", expected="a URI", found=repr(predicate_type))
    return Statement(type=st_type, subjects=tuple(subjects), predicate_type=predicate_type,
                     predicate=doc.get("predicate"))


def bind_statement(st: Statement, digest: str, details: dict[str, Any]) -> tuple[Subject | None, Reason | None]:
    """Record what the statement is in ``details`` (``kind`` signature for the cosign sign predicate, else
    attestation with its predicate) and find its subject for the resolved ``digest``.

    Returns (subject, None), or (None, a DIGEST_MISMATCH reason) when the statement is about another artifact.
    Shared by the `.att` and the Sigstore bundle verifiers."""
    details["predicate_type"] = st.predicate_type
    if st.predicate_type == COSIGN_SIGN_PREDICATE:
        details["kind"] = "signature"
    else:
        details["kind"] = "attestation"
        details["predicate"] = st.predicate
    algo, _, hexdigest = digest.partition(":")
    subject = st.subject_for(hexdigest) if algo == "sha256" else None
    if subject is None:
        return None, Reason(Code.DIGEST_MISMATCH, "the signed in-toto statement is about another artifact", digest,
                            ", ".join(st.subject_digests()))
    if details["kind"] == "attestation":
        details["statement_subject_ok"] = True
    return subject, None


def annotations_mismatch(required: Mapping[str, str], found: Mapping[str, Any]) -> Reason | None:
    """Every required annotation must be present with exactly that (string) value."""
    for k, v in sorted(required.items()):
        have = found.get(k)
        if not isinstance(have, str) or have != v:
            return Reason(
                Code.ANNOTATION_MISMATCH,
                f"signed annotation {k!r} does not match",
                expected=f"{k}={v}",
                found=f"{k}={have}" if k in found else f"{k} absent (signed: {dict(found) or 'none'})",
            )
    return None
