"""Rekor v1 log entries as the API serves them (``GET /api/v1/log/entries/{uuid}``) and as cosign's legacy blob
bundle carries them (``rekorBundle``): parsed strictly, bound to one signature, signer and artifact digest, and
written as a Sigstore bundle ``tlogEntries`` item so the bundle verifier checks proof, checkpoint and SET.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from sigverify.crypto.rekor import TlogError, parse_body, parse_cosign_bundle
from sigverify.crypto.strictjson import PayloadError, json_type, loads_object

_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{64}|[0-9a-f]{80}")
_MAX_SAFE_INT = 2**53 - 1
MAX_PROOF_HASHES = 64  # a Merkle path of a tree of 2**64 leaves


@dataclass(frozen=True)
class InclusionProof:
    """A Merkle inclusion proof and the signed checkpoint (note) it ends in."""

    log_index: int  # the index within the tree the proof is for
    root_hash: bytes
    tree_size: int
    hashes: tuple[bytes, ...]
    checkpoint: str


@dataclass(frozen=True)
class RekorEntry:
    """One transparency-log entry: the canonical body and what the log says about it."""

    uuid: str | None
    body_b64: str
    integrated_time: int
    log_index: int
    log_id: str  # lowercase hex
    signed_entry_timestamp: bytes | None
    proof: InclusionProof | None

    @property
    def kind_version(self) -> tuple[str, str]:
        entry = parse_body(self.body_b64)
        return entry.kind, entry.api_version

    def bundle_entry(self) -> dict[str, Any]:
        """The Sigstore bundle ``TransparencyLogEntry`` (protobuf JSON) for this entry."""
        kind, version = self.kind_version
        out: dict[str, Any] = {
            "logIndex": str(self.log_index),
            "logId": {"keyId": base64.b64encode(bytes.fromhex(self.log_id)).decode()},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": str(self.integrated_time),
            "canonicalizedBody": self.body_b64,
        }
        if self.signed_entry_timestamp is not None:
            out["inclusionPromise"] = {"signedEntryTimestamp": base64.b64encode(self.signed_entry_timestamp).decode()}
        if self.proof is not None:
            p = self.proof
            out["inclusionProof"] = {
                "logIndex": str(p.log_index),
                "rootHash": base64.b64encode(p.root_hash).decode(),
                "treeSize": str(p.tree_size),
                "hashes": [base64.b64encode(h).decode() for h in p.hashes],
                "checkpoint": {"envelope": p.checkpoint},
            }
        return out

    def summary(self) -> str:
        return f"log index {self.log_index}" + (f" (uuid {self.uuid[:16]}…)" if self.uuid else "")


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SAFE_INT:
        raise TlogError(f"{what} must be a non-negative integer", expected="integer", found=repr(value)[:40])
    return int(value)


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise TlogError(f"{what} must be 64 lowercase hex characters", found=repr(value)[:80])
    return bytes.fromhex(value)


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TlogError(f"{what} must be a base64 string", expected="string", found=json_type(value))
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise TlogError(f"{what} is not valid base64", found=repr(value[:40])) from None


def _proof(value: Any) -> InclusionProof | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TlogError("verification.inclusionProof must be an object", found=json_type(value))
    hashes = value.get("hashes", [])
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise TlogError("inclusionProof.hashes must be a list of at most 64 hashes", found=json_type(hashes))
    checkpoint = value.get("checkpoint")
    if not isinstance(checkpoint, str) or not checkpoint:
        raise TlogError("the inclusion proof has no signed checkpoint", expected="inclusionProof.checkpoint",
                        found=json_type(checkpoint))
    return InclusionProof(
        log_index=_int(value.get("logIndex"), "inclusionProof.logIndex"),
        root_hash=_hex(value.get("rootHash"), "inclusionProof.rootHash"),
        tree_size=_int(value.get("treeSize"), "inclusionProof.treeSize"),
        hashes=tuple(_hex(h, "inclusionProof.hashes[]") for h in hashes),
        checkpoint=checkpoint,
    )


def parse_api_entry(raw: bytes | str, *, what: str = "Rekor entry") -> list[RekorEntry]:
    """Parse a Rekor v1 API answer: ``{uuid: entry, ...}`` (the entries endpoint), a list of those (the search
    endpoint ``/api/v1/log/entries/retrieve``), or one bare entry object. Raises ``TlogError``."""
    try:
        from sigverify.crypto.strictjson import loads_strict

        doc = loads_strict(raw, what=what)
    except PayloadError as e:
        raise TlogError(e.message, expected=e.expected, found=e.found) from None
    items: list[tuple[str | None, Any]] = []
    maps = doc if isinstance(doc, list) else [doc]
    for m in maps:
        if not isinstance(m, dict):
            raise TlogError(f"the {what} is not a JSON object", found=json_type(m))
        if "body" in m:
            items.append((None, m))
        elif all(isinstance(k, str) and _UUID.fullmatch(k) and isinstance(v, dict) for k, v in m.items()):
            items.extend(m.items())
        else:
            raise TlogError(f"the {what} is not a Rekor v1 log entry as the API returns it",
                            expected="{\"<uuid>\": {body, integratedTime, logID, logIndex, verification}} "
                            "(GET /api/v1/log/entries/<uuid>)", found="keys " + ", ".join(sorted(m)[:5]))
    if not items:
        raise TlogError(f"the {what} holds no log entry", expected="{uuid: {body, integratedTime, ...}}",
                        found="an empty object")
    return [_entry(uuid, e, what) for uuid, e in items[:MAX_PROOF_HASHES]]


def _entry(uuid: str | None, e: Any, what: str) -> RekorEntry:
    if not isinstance(e, dict):
        raise TlogError(f"the {what} is not a JSON object", found=json_type(e))
    body = e.get("body")
    _b64(body, "entry body")
    assert isinstance(body, str)
    verification = e.get("verification") or {}
    if not isinstance(verification, dict):
        raise TlogError("entry verification must be an object", found=json_type(verification))
    set_b64 = verification.get("signedEntryTimestamp")
    log_id = e.get("logID")
    if not isinstance(log_id, str) or not _HEX.fullmatch(log_id):
        raise TlogError("the entry's logID is not 64 lowercase hex characters", found=repr(log_id)[:80])
    return RekorEntry(
        uuid=uuid if isinstance(uuid, str) else None,
        body_b64=body,
        integrated_time=_int(e.get("integratedTime"), "integratedTime"),
        log_index=_int(e.get("logIndex"), "logIndex"),
        log_id=log_id,
        signed_entry_timestamp=None if set_b64 is None else _b64(set_b64, "signedEntryTimestamp"),
        proof=_proof(verification.get("inclusionProof")),
    )


def from_cosign_bundle(text: str) -> RekorEntry:
    """The ``rekorBundle`` of a legacy cosign blob bundle (SET only, no inclusion proof)."""
    rb = parse_cosign_bundle(text)
    return RekorEntry(uuid=None, body_b64=rb.body, integrated_time=rb.integrated_time, log_index=rb.log_index,
                      log_id=rb.log_id, signed_entry_timestamp=rb.signed_entry_timestamp, proof=None)


def check_entry_binding(entry: RekorEntry, *, signature: bytes, digest: bytes, signer_der: bytes,
                        signer_kind: str) -> None:
    """The entry must be a hashedrekord/rekord naming exactly this signature, this certificate (DER) or key (SPKI
    DER), and this artifact's SHA-256. Raises ``TlogError`` naming which of the three differs."""
    from sigverify.crypto.bundle.logbody import pem_to_der
    from sigverify.crypto.keys import fingerprint_der

    body = parse_body(entry.body_b64)
    if body.hash_algorithm.lower() != "sha256" or body.hash_value != digest.hex():
        raise TlogError("the log entry is for another artifact",
                        expected=f"sha256:{digest.hex()}", found=f"{body.hash_algorithm}:{body.hash_value}")
    if body.signature != signature:
        raise TlogError("the log entry is for another signature of this artifact",
                        expected=f"signature {base64.b64encode(signature)[:24].decode()}…",
                        found=f"logged signature {base64.b64encode(body.signature)[:24].decode()}…")
    try:
        logged = pem_to_der(base64.b64encode(body.verifier_pem).decode())
    except ValueError as e:
        raise TlogError(f"the log entry's verifier is not a PEM certificate or key: {e}") from None
    if logged != signer_der:
        raise TlogError(f"the log entry was made with another {signer_kind}",
                        expected=f"{signer_kind} {fingerprint_der(signer_der)}",
                        found=f"{'certificate' if b'CERTIFICATE' in body.verifier_pem else 'key'} "
                              f"{fingerprint_der(logged)}")


def loads_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Strict JSON object (duplicate keys refused) or ``TlogError``."""
    try:
        return loads_object(raw, what=what)
    except PayloadError as e:
        raise TlogError(e.message, expected=e.expected, found=e.found) from None
