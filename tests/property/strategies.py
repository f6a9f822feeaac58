"""Hypothesis generators for everything sigverify reads from outside: OCI manifests, indexes, referrers replies,
DSSE envelopes and in-toto statements, Sigstore bundles (v0.1-v0.3 shapes), Notary Project JWS and COSE envelopes,
trusted_root.json documents and policy configs; each in a plausible shape and in hostile variants (200,000-deep
nesting, huge numbers, wrong types, invalid UTF-8, duplicate keys, random bytes)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st

SCALE = 40 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1


def examples(n: int) -> int:
    """``n`` examples in CI, 40 times more under HYPOTHESIS_PROFILE=long."""
    return n * SCALE


DEEP = (65, 1_000, 200_000)  # just over the 64-level bound, past Python's recursion limit, the 200,000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPES = (
    OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.dev.cosign.simplesigning.v1+json", "application/vnd.dsse.envelope.v1+json",
    "application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.cncf.notary.signature", "application/jose+json", "application/cose",
    "application/vnd.oci.image.config.v1+json", "application/vnd.oci.empty.v1+json", "", "text/plain\n::error::x",
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# -- JSON values and hostile JSON bytes ---------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=24))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=16)
texts = st.text(max_size=40) | st.sampled_from(["", "\x00", "\u202e", "\ud7ff", "a" * 300, "::add-mask::x\n::error::y"])
digests = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
    st.binary(min_size=64, max_size=64).map(lambda b: "sha512:" + b.hex()),
    st.sampled_from(["sha256:", "sha256:" + "A" * 64, "md5:" + "0" * 32, "sha256:../../../etc/passwd", "",
                     "sha256:" + "0" * 63, "sha256:" + "0" * 65]),
    texts,
)
sizes = st.integers(min_value=-2, max_value=2**70) | json_values


def deep(n: int, kind: str, leaf: bytes = b"1") -> bytes:
    """``n`` levels of arrays or objects around ``leaf``."""
    if kind == "[":
        return b"[" * n + leaf + b"]" * n
    return b'{"a":' * n + leaf + b"}" * n


def _dup_first_key(doc: dict[str, Any]) -> bytes:
    text = json.dumps(doc)
    if not doc:
        return b'{"a":1,"a":2}'
    key = json.dumps(next(iter(doc)))
    return ("{" + key + ":null," + text[1:]).encode()


@st.composite
def hostile_json(draw: st.DrawFn, template: st.SearchStrategy[Any]) -> bytes:
    """A document of ``template``'s shape, or a hostile variant of one."""
    doc = draw(template)
    kind = draw(st.sampled_from(["plain", "plain", "wrong-type", "deep", "deep-field", "number", "utf8", "dup",
                                 "bytes", "truncated"]))
    raw = json.dumps(doc).encode()
    if kind == "wrong-type" and isinstance(doc, dict) and doc:
        key = draw(st.sampled_from(sorted(doc)))
        return json.dumps({**doc, key: draw(json_values)}).encode()
    if kind == "deep":
        return deep(draw(st.sampled_from(DEEP)), draw(st.sampled_from("[{")))
    if kind == "deep-field" and isinstance(doc, dict):
        inner = deep(draw(st.sampled_from(DEEP)), draw(st.sampled_from("[{")))
        return raw[:-1] + (b', "zz":' if doc else b'"zz":') + inner + b"}"
    if kind == "number":
        number = draw(st.sampled_from([b"1e999999", b"-1e-999999", b"9" * 5000, b"-" + b"9" * 4301, b"1" + b"0" * 400
                                       + b".5", b"NaN", b"Infinity", b"0x10", b"01"]))
        return b'{"schemaVersion":' + number + b',"size":' + number + b"}"
    if kind == "utf8" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\x00"]))
        return raw[:at] + bad + raw[at:]
    if kind == "dup" and isinstance(doc, dict):
        return _dup_first_key(doc)
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncated" and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


# -- OCI ---------------------------------------------------------------------------------------------------------


def descriptors(media_types: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"mediaType": st.sampled_from(MEDIA_TYPES) if media_types is None else media_types, "digest": digests,
         "size": sizes},
        optional={"annotations": st.dictionaries(texts, texts | json_values, max_size=3), "artifactType": texts,
                  "urls": json_values, "platform": json_values},
    )


manifests = st.fixed_dictionaries(
    {"schemaVersion": st.just(2) | json_values, "mediaType": st.sampled_from(MEDIA_TYPES),
     "config": descriptors() | json_values, "layers": st.lists(descriptors(), max_size=3) | json_values},
    optional={"subject": descriptors(), "annotations": st.dictionaries(texts, texts, max_size=3),
              "artifactType": st.sampled_from(MEDIA_TYPES)},
)
indexes = st.fixed_dictionaries(
    {"schemaVersion": st.just(2) | json_values, "mediaType": st.just(OCI_INDEX) | st.sampled_from(MEDIA_TYPES),
     "manifests": st.lists(descriptors(), max_size=4) | json_values},
    optional={"annotations": st.dictionaries(texts, texts, max_size=2)},
)
referrers_replies = st.fixed_dictionaries(
    {"schemaVersion": st.just(2), "mediaType": st.just(OCI_INDEX),
     "manifests": st.lists(descriptors(st.sampled_from(MEDIA_TYPES)).map(
         lambda d: {**d, "artifactType": d.get("artifactType", d["mediaType"])}), max_size=4)},
)

# -- DSSE, in-toto ---------------------------------------------------------------------------------------------

INTOTO = "application/vnd.in-toto+json"
statements = st.fixed_dictionaries(
    {"_type": st.sampled_from(["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"]) | texts,
     "subject": st.lists(st.fixed_dictionaries({"name": texts, "digest": st.dictionaries(
         st.sampled_from(["sha256", "sha512", "SHA256"]), st.binary(min_size=32, max_size=32).map(bytes.hex) | texts,
         max_size=2)}), max_size=3) | json_values,
     "predicateType": st.sampled_from(["https://slsa.dev/provenance/v1", "https://cosign.sigstore.dev/attestation/v1"])
     | texts, "predicate": json_values},
)
envelopes = st.fixed_dictionaries(
    {"payloadType": st.just(INTOTO) | texts,
     "payload": st.one_of(hostile_json(statements).map(b64), st.binary(max_size=64).map(b64), texts),
     "signatures": st.lists(st.fixed_dictionaries({"keyid": texts, "sig": st.binary(max_size=80).map(b64) | texts}),
                            max_size=3) | json_values},
)

# -- Sigstore bundles (v0.1, v0.2, v0.3 shapes) -------------------------------------------------------------------

BUNDLE_TYPES = ["application/vnd.dev.sigstore.bundle+json;version=0.1",
                "application/vnd.dev.sigstore.bundle+json;version=0.2",
                "application/vnd.dev.sigstore.bundle+json;version=0.3",
                "application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.dev.sigstore.bundle.v9+json"]
raw_b64 = st.binary(max_size=96).map(b64)
# A real P-256 public key, so that generated trusted roots also get past key parsing to the rules after it.
_SPKI = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
int_strings = st.integers(min_value=-1, max_value=2**64).map(str) | json_values
tlog_entries = st.fixed_dictionaries(
    {"logIndex": int_strings, "logId": st.fixed_dictionaries({"keyId": raw_b64}),
     "kindVersion": st.fixed_dictionaries({"kind": st.sampled_from(["hashedrekord", "dsse", "intoto"]) | texts,
                                           "version": st.sampled_from(["0.0.1", "0.0.2"]) | texts}),
     "canonicalizedBody": hostile_json(json_values).map(b64)},
    optional={"integratedTime": int_strings,
              "inclusionPromise": st.fixed_dictionaries({"signedEntryTimestamp": raw_b64}),
              "inclusionProof": st.fixed_dictionaries(
                  {"logIndex": int_strings, "rootHash": raw_b64, "treeSize": int_strings,
                   "hashes": st.lists(raw_b64, max_size=3),
                   "checkpoint": st.fixed_dictionaries({"envelope": texts})})},
)
bundles = st.fixed_dictionaries(
    {"mediaType": st.sampled_from(BUNDLE_TYPES) | texts,
     "verificationMaterial": st.fixed_dictionaries(
         {"tlogEntries": st.lists(tlog_entries, max_size=2) | json_values},
         optional={"publicKey": st.fixed_dictionaries({"hint": texts}),
                   "x509CertificateChain": st.fixed_dictionaries(
                       {"certificates": st.lists(st.fixed_dictionaries({"rawBytes": raw_b64}), max_size=3)}),
                   "certificate": st.fixed_dictionaries({"rawBytes": raw_b64}),
                   "timestampVerificationData": st.fixed_dictionaries(
                       {"rfc3161Timestamps": st.lists(st.fixed_dictionaries({"signedTimestamp": raw_b64}),
                                                      max_size=2)})}) | json_values},
    optional={"messageSignature": st.fixed_dictionaries(
        {"messageDigest": st.fixed_dictionaries({"algorithm": st.sampled_from(["SHA2_256", "SHA2_384"]) | texts,
                                                 "digest": raw_b64}), "signature": raw_b64}),
              "dsseEnvelope": envelopes},
)

# -- Notary Project envelopes -------------------------------------------------------------------------------------

notary_headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["PS256", "PS384", "ES256", "ES384", "none", "HS256"]) | json_values,
     "cty": st.just("application/vnd.cncf.notary.payload.v1+json") | texts,
     "io.cncf.notary.signingScheme": st.sampled_from(["notary.x509", "notary.x509.signingAuthority"]) | texts},
    optional={"crit": st.lists(texts, max_size=3) | json_values, "io.cncf.notary.signingTime": texts | json_values,
              "io.cncf.notary.expiry": texts | json_values,
              "io.cncf.notary.authenticSigningTime": texts | json_values},
)
notary_payloads = st.fixed_dictionaries({"targetArtifact": descriptors() | json_values})
jws_envelopes = st.fixed_dictionaries(
    {"payload": hostile_json(notary_payloads).map(b64url), "protected": hostile_json(notary_headers).map(b64url),
     "header": st.fixed_dictionaries({"x5c": st.lists(st.binary(max_size=200).map(b64), max_size=3) | json_values},
                                     optional={"io.cncf.notary.signingAgent": texts,
                                               "io.cncf.notary.timestampSignature": raw_b64}),
     "signature": st.binary(max_size=96).map(b64url) | texts},
)
cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1) | st.binary(max_size=40)
    | st.text(max_size=20), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.integers(-5, 40) | st.text(max_size=10), inner, max_size=3), max_leaves=10)


@st.composite
def cose_envelopes(draw: st.DrawFn) -> bytes:
    """A tagged COSE_Sign1 (tag 18) with generated headers, or a hostile CBOR item."""
    kind = draw(st.sampled_from(["sign1", "sign1", "deep", "tags", "bytes", "huge-length", "indefinite"]))
    if kind == "deep":
        return b"\xd2" + draw(st.sampled_from([b"\x81", b"\xa1\x00"])) * draw(st.sampled_from(DEEP)) + b"\x00"
    if kind == "tags":
        tag = draw(st.sampled_from([b"\xd2", b"\xc1", b"\xd8\x1c", b"\xd9\xd9\xf7"]))
        return tag * draw(st.sampled_from(DEEP)) + b"\x00"
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "huge-length":
        return b"\xd2\x84" + draw(st.sampled_from([b"\x5b", b"\x9b", b"\xbb", b"\x7b"])) + b"\xff" * 8
    if kind == "indefinite":
        return b"\xd2\x9f" + b"\x5f" * 4 + b"\xff" * 5
    protected = {1: draw(st.sampled_from([-37, -38, -7, -35, 0]) | cbor_values), 3: draw(cbor_values),
                 "io.cncf.notary.signingScheme": draw(st.sampled_from(["notary.x509", "x"]))}
    if draw(st.booleans()):
        protected["io.cncf.notary.signingTime"] = cbor2.CBORTag(1, draw(st.integers(-(2**63), 2**63)))
    unprotected = {33: draw(st.lists(st.binary(max_size=120), max_size=3) | cbor_values)}
    payload = draw(hostile_json(notary_payloads))
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(protected), unprotected, payload,
                                                  draw(st.binary(max_size=96))])))


# -- trusted roots ----------------------------------------------------------------------------------------------

times = st.sampled_from(["2021-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "not a time",
                         "2021-13-45T99:99:99Z", "", "9999-12-31T23:59:59.999999999Z"]) | json_values
transparency_logs = st.fixed_dictionaries(
    {"baseUrl": texts, "hashAlgorithm": st.just("SHA2_256") | texts,
     "publicKey": st.fixed_dictionaries(
         {"rawBytes": st.just(b64(_SPKI)) | raw_b64,
          "keyDetails": st.sampled_from(["PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519"]) | texts},
         optional={"validFor": st.fixed_dictionaries({}, optional={"start": times, "end": times}) | json_values}),
     "logId": st.fixed_dictionaries({"keyId": raw_b64}) | json_values},
)
authorities_ = st.fixed_dictionaries(
    {"subject": json_values, "uri": texts,
     "certChain": st.fixed_dictionaries({"certificates": st.lists(st.fixed_dictionaries({"rawBytes": raw_b64}),
                                                                  max_size=2)}) | json_values},
    optional={"validFor": st.fixed_dictionaries({}, optional={"start": times, "end": times})},
)
trusted_roots = st.fixed_dictionaries(
    {"mediaType": st.just("application/vnd.dev.sigstore.trustedroot+json;version=0.1") | texts,
     "tlogs": st.lists(transparency_logs, max_size=2) | json_values,
     "certificateAuthorities": st.lists(authorities_, max_size=2) | json_values,
     "ctlogs": st.lists(transparency_logs, max_size=2) | json_values,
     "timestampAuthorities": st.lists(authorities_, max_size=2) | json_values},
)

# -- policy configs (YAML) -------------------------------------------------------------------------------------

yaml_scalars = st.one_of(
    st.sampled_from(["a", "'x'", '"y"', "1", "-1", "1e9", "0x10", "0o7", "yes", "no", "on", "null", "~", ".inf",
                     ".nan", "2001-12-14", "!!python/object:os.system x", "!!binary aGk=", "*a", "&a x", "<<: *a",
                     "9" * 5000, "-" + "9" * 4301, "'\\x00'", "\t", "@", "`", "|", ">", "{", "[", "? x"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)


@st.composite
def policy_configs(draw: st.DrawFn) -> str:
    """A policy config: a plausible one with generated values in its slots, or hostile YAML text."""
    kind = draw(st.sampled_from(["slots", "slots", "slots", "deep", "aliases", "noise"]))
    if kind == "deep":
        n = draw(st.sampled_from(DEEP))
        return "version: 1\nimages: " + draw(st.sampled_from(["[" * n + "]" * n, "{a: " * n + "1" + "}" * n])) + "\n"
    if kind == "aliases":  # the billion laughs
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
        return "\n".join(["version: 1", *lines, "images: *a8"]) + "\n"
    if kind == "noise":
        return draw(st.text(max_size=200))
    slot = yaml_scalars
    return (
        f"version: {draw(slot)}\n"
        f"images:\n  - {draw(slot)}\n  - localhost:5000/team/app:1\n"
        f"default: {draw(st.sampled_from(['deny', 'allow']) | slot)}\n"
        f"registries:\n  {draw(slot)}: {{insecure: {draw(slot)}}}\n"
        "policies:\n"
        f"  - name: {draw(slot)}\n"
        f"    match: [{draw(slot)}, 'localhost:5000/**']\n"
        f"    mode: {draw(st.sampled_from(['enforce', 'warn']) | slot)}\n"
        f"    threshold: {draw(st.sampled_from(['1', '2']) | slot)}\n"
        "    authorities:\n"
        f"      - name: {draw(slot)}\n"
        f"        {draw(st.sampled_from(['keyless', 'key', 'notation']) | slot)}:\n"
        f"          {draw(st.sampled_from(['issuer', 'subject', 'path', 'pem', 'trust_store']) | slot)}: {draw(slot)}\n"
        f"        tlog: {draw(st.sampled_from(['require', 'ignore']) | slot)}\n"
        f"        annotations: {{{draw(slot)}: {draw(slot)}}}\n"
    )
