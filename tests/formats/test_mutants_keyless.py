"""Classic keyless `.sig` decisions pinned for mutants that survived the mutation run (tests/mutation/)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
from pathlib import Path

import pytest

from sigverify.crypto.trustroot import TrustStore
from sigverify.errors import Failure
from sigverify.formats.cosign_sig import keyless as cosign_keyless
from sigverify.formats.cosign_sig.keyless import signature_from_annotations
from sigverify.models import Candidate, Code, Descriptor, Format
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, test_sigstore
from tests.sigstore.helpers import context, keyless

__all__ = ["test_sigstore"]

DIGEST = "sha256:" + hashlib.sha256(b"the image manifest").hexdigest()
SIG = "dev.cosignproject.cosign/signature"


def test_an_empty_signature_annotation_is_refused_unless_the_caller_allows_it() -> None:
    with pytest.raises(Failure) as err:
        signature_from_annotations({SIG: ""})
    assert err.value.code == Code.INVALID_SIGNATURE
    assert err.value.message == "the signature annotation is empty"
    assert signature_from_annotations({SIG: ""}, allow_empty=True) == b""
    assert signature_from_annotations({SIG: "AQI="}) == b"\x01\x02"


def _candidate(payload: bytes, annotations: dict[str, str]) -> Candidate:
    return Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "3" * 64,
                     Descriptor("application/vnd.dev.cosign.simplesigning.v1+json",
                                "sha256:" + hashlib.sha256(payload).hexdigest(), len(payload), annotations),
                     payload)


def test_the_set_time_is_checked_against_the_verification_clock(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    payload = json.dumps({"critical": {"identity": {"docker-reference": "registry.test/repo"},
                                       "image": {"docker-manifest-digest": DIGEST},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    cand = _candidate(payload, test_sigstore.classic_signature(payload))
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    auth = keyless("release", WORKFLOW, GITHUB_ISSUER)
    ctx = context(DIGEST, trust)
    assert cosign_keyless.VERIFIER.verify(cand, auth, ctx).ok
    earlier = dataclasses.replace(ctx, now=test_sigstore.now - _dt.timedelta(hours=1))  # logged "in the future"
    check = cosign_keyless.VERIFIER.verify(cand, auth, earlier)
    assert not check.ok and check.reason is not None
    assert check.reason.code == Code.TLOG_INVALID, check.reason
    assert "in the future" in check.reason.message
