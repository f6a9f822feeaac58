"""Hostile envelopes: random byte mutations and type confusion never raise and never pass."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import cbor2
import pytest

from sigverify.models import Code, Descriptor
from tests.notation import signer as sg
from tests.notation.helpers import envelope_candidate, run

SUBJECT = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 1234)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> tuple[sg.Signer, dict[str, Any]]:
    s = sg.ca_chain()
    path = tmp_path_factory.mktemp("store") / "root.pem"
    path.write_bytes(sg.pem(s.root))
    return s, {"trust_store": str(path), "trusted_identities": ["*"], "level": "audit"}


@pytest.mark.parametrize("media_type", ["application/jose+json", "application/cose"])
def test_random_byte_mutations(material: tuple[sg.Signer, dict[str, Any]], media_type: str) -> None:
    s, cfg = material
    sign = sg.sign_jws if media_type.endswith("json") else sg.sign_cose
    good = sign(s, sg.payload(SUBJECT), expiry=sg.NOW + sg._dt.timedelta(days=1))
    assert run(envelope_candidate(good, media_type, SUBJECT.digest), cfg, SUBJECT).ok
    rng = random.Random(20261122)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.6:
                data[pos] = rng.randrange(256)
            elif op < 0.8:
                del data[pos : pos + rng.randint(1, 16)]
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        result = run(envelope_candidate(bytes(data), media_type, SUBJECT.digest), cfg, SUBJECT)
        # a failure always has a named reason (never an escaped exception); a pass is possible only for
        # mutations that leave every signed and used byte intact (e.g. unused base64 padding bits)
        assert result.reason is None or result.reason.code != Code.INTERNAL_ERROR, result.reason


def _jws_variants(good: bytes) -> list[bytes]:
    doc = json.loads(good)
    prot = json.loads(base64.urlsafe_b64decode(doc["protected"] + "=="))
    out = []
    for key in ("alg", "cty", "crit", "io.cncf.notary.signingScheme", "io.cncf.notary.signingTime"):
        for value in (None, 1, [], {}, "", "x", True, 1e308, [1, 2]):
            p = dict(prot)
            p[key] = value
            d = dict(doc)
            d["protected"] = base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
            out.append(json.dumps(d).encode())
    for key in ("payload", "protected", "signature", "header"):
        for value in (None, 1, [], {}, "", "!!", "a" * 5):
            d = dict(doc)
            d[key] = value
            out.append(json.dumps(d).encode())
    for value in (None, 1, [], [1], ["!!"], [""], {"a": 1}):
        d = dict(doc)
        d["header"] = {"x5c": value, "io.cncf.notary.timestampSignature": "AAAA"}
        out.append(json.dumps(d).encode())
    nested = b"[" * 100000 + b"]" * 100000
    out += [nested, b"NaN", b'{"payload": NaN}', b"\xff\xfe", b"{}" * 3]
    return out


def test_jws_type_confusion(material: tuple[sg.Signer, dict[str, Any]]) -> None:
    s, cfg = material
    for env in _jws_variants(sg.sign_jws(s, sg.payload(SUBJECT))):
        result = run(envelope_candidate(env, "application/jose+json", SUBJECT.digest), cfg, SUBJECT)
        assert not result.ok
        assert result.reason is not None and result.reason.code != Code.INTERNAL_ERROR, result.reason


def test_cose_type_confusion(material: tuple[sg.Signer, dict[str, Any]]) -> None:
    s, cfg = material
    good = cbor2.loads(sg.sign_cose(s, sg.payload(SUBJECT)))
    prot_raw, unprot, body, sig = good.value
    prot = cbor2.loads(prot_raw)
    variants: list[Any] = []
    for i, value in enumerate(
        (None, 1, [], {}, b"", "x", cbor2.CBORTag(1, "x"), cbor2.CBORTag(0, "2020-01-01T00:00:00Z"))
    ):
        for label in (1, 2, 3, "io.cncf.notary.signingScheme", "io.cncf.notary.signingTime"):
            p = dict(prot)
            p[label] = value
            variants.append(cbor2.CBORTag(18, [cbor2.dumps(p), unprot, body, sig]))
        variants.append(cbor2.CBORTag(18, [prot_raw, {33: value}, body, sig]))
        variants.append(cbor2.CBORTag(18, [prot_raw, unprot, value, sig]))
        variants.append(cbor2.CBORTag(18, [value, unprot, body, sig]))
        variants.append(cbor2.CBORTag(19 + i, [prot_raw, unprot, body, sig]))
    variants += [cbor2.CBORTag(18, [prot_raw, unprot, body]), cbor2.CBORTag(35, "a+"), cbor2.CBORTag(28, [1])]
    for v in variants:
        env = cbor2.dumps(v)
        result = run(envelope_candidate(env, "application/cose", SUBJECT.digest), cfg, SUBJECT)
        assert not result.ok
        assert result.reason is not None and result.reason.code != Code.INTERNAL_ERROR, (v, result.reason)


def test_garbage_timestamp_tokens(material: tuple[sg.Signer, dict[str, Any]], notation_vectors: Path) -> None:
    s, cfg = material
    tsa = notation_vectors / "notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp"
    good = json.loads(sg.sign_jws(s, sg.payload(SUBJECT)))
    for token in (b"\x30\x00", b"\x30\x80\x00\x00", b"garbage", b"\x30\x82\xff\xff" + b"\x00" * 10):
        good["header"]["io.cncf.notary.timestampSignature"] = base64.b64encode(token).decode()
        env = json.dumps(good).encode()
        result = run(
            envelope_candidate(env, "application/jose+json", SUBJECT.digest),
            {**cfg, "level": "strict", "tsa_store": str(tsa)},
            SUBJECT,
        )
        assert not result.ok
        assert result.reason is not None and result.reason.code == Code.INVALID_SIGNATURE, result.reason
        assert "timestamp" in result.reason.message, result.reason
