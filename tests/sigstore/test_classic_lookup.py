"""A classic keyless `.sig` without the Rekor bundle annotation: looked up in a local Rekor v1 API server by the
payload's SHA-256 when the network is allowed (never offline); the entry must bind this signature, certificate
and payload."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.base import VerifyContext
from sigverify.formats.cosign_sig import keyless as cosign_keyless
from sigverify.models import Candidate, Code, Descriptor, Format, SignatureCheck
from tests.fixtures.rekorserver import RekorServer, rekor_server, trusted_root_for
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore
from tests.sigstore.helpers import context, keyless

__all__ = ["rekor_server"]

DIGEST = "sha256:" + hashlib.sha256(b"the image manifest").hexdigest()


def _payload(digest: str = DIGEST) -> bytes:
    return json.dumps({"critical": {"identity": {"docker-reference": "registry.test/repo"},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"}, "optional": None}).encode()


def _candidate(payload: bytes, annotations: dict[str, str]) -> Candidate:
    return Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "3" * 64,
                     Descriptor("application/vnd.dev.cosign.simplesigning.v1+json",
                                "sha256:" + hashlib.sha256(payload).hexdigest(), len(payload), annotations),
                     payload)


def _verify(payload: bytes, ann: dict[str, str], trust: TrustStore, *, offline: bool,
            subject: str = WORKFLOW) -> SignatureCheck:
    ctx: VerifyContext = dataclasses.replace(context(DIGEST, trust), offline=offline)
    return cosign_keyless.VERIFIER.verify(_candidate(payload, ann), keyless("release", subject, GITHUB_ISSUER), ctx)


def _unannotated(ts: TestSigstore, payload: bytes) -> tuple[dict[str, str], bytes, bytes]:
    ann = ts.classic_signature(payload, with_bundle=False)
    sig = base64.b64decode(ann["dev.cosignproject.cosign/signature"])
    return ann, sig, ann["dev.sigstore.cosign/certificate"].encode()


def test_lookup_when_online(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path) -> None:
    payload = _payload()
    ann, sig, pem = _unannotated(test_sigstore, payload)
    rekor_server.log_hashedrekord(payload, sig, pem)
    trust = TrustStore(str(trusted_root_for(test_sigstore, rekor_server.url, tmp_path)))
    check = _verify(payload, ann, trust, offline=False)
    assert check.ok, check.reason
    assert check.details["tlog"]["log"] == rekor_server.url  # type: ignore[index]
    assert "POST /api/v1/index/retrieve" in rekor_server.requests
    bad = _verify(payload, ann, trust, offline=False, subject="https://github.com/evil/x")
    assert not bad.ok and bad.reason is not None and bad.reason.code == Code.IDENTITY_MISMATCH


def test_offline_never_looks_up(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path) -> None:
    payload = _payload()
    ann, sig, pem = _unannotated(test_sigstore, payload)
    rekor_server.log_hashedrekord(payload, sig, pem)
    trust = TrustStore(str(trusted_root_for(test_sigstore, rekor_server.url, tmp_path)))
    check = _verify(payload, ann, trust, offline=True)
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert rekor_server.requests == []


def test_lookup_no_entry_or_another_certificate(rekor_server: RekorServer, test_sigstore: TestSigstore,
                                                tmp_path: Path) -> None:
    payload = _payload()
    ann, sig, _pem = _unannotated(test_sigstore, payload)
    trust = TrustStore(str(trusted_root_for(test_sigstore, rekor_server.url, tmp_path)))
    check = _verify(payload, ann, trust, offline=False)
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert "no entry" in check.reason.message
    other = test_sigstore.issue().cert.public_bytes(serialization.Encoding.PEM)
    rekor_server.log_hashedrekord(payload, sig, other)
    check = _verify(payload, ann, trust, offline=False)
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert "another certificate" in check.reason.message


def test_lookup_entry_for_another_payload(rekor_server: RekorServer, test_sigstore: TestSigstore,
                                          tmp_path: Path) -> None:
    payload = _payload()
    ann, _sig, _pem = _unannotated(test_sigstore, payload)
    other_payload = _payload("sha256:" + "e" * 64)
    other_ann, other_sig, other_pem = _unannotated(test_sigstore, other_payload)
    rekor_server.log_hashedrekord(other_payload, other_sig, other_pem, indexed_under=payload)
    trust = TrustStore(str(trusted_root_for(test_sigstore, rekor_server.url, tmp_path)))
    check = _verify(payload, ann, trust, offline=False)
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert "another artifact" in check.reason.message
    assert other_ann != ann
