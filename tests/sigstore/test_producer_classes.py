"""Bundles as other producers make them, made by the test Sigstore: P-384/P-521/RSA keys (the digest follows the
key and the bundle), in-toto subjects naming only sha512 (npm provenance), publicKey hints that are not SPKI
hashes (npm registry attestations). Each good bundle has a tampered twin that fails with a named code."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from sigverify.cli.verify_blob import main
from sigverify.models import Code
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, new_key, statement

KEY_TYPES = ["p384", "p521", "rsa2048", "rsa3072-pss", "rsa4096"]
NPM_HINT = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"  # npm's registry key id form (not an SPKI hash)
DATA = b"package tarball\n"


def _identity() -> list[str]:
    return ["--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", GITHUB_ISSUER]


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    rc = main([*args, "--offline", "--format", "json"])
    out = capsys.readouterr().out
    return rc, json.loads(out) if out.strip() else {}


def _code(out: dict[str, Any]) -> str | None:
    reason = out.get("reason")
    return reason.get("code") if isinstance(reason, dict) else None


def _flip_b64(doc: dict[str, Any], path: tuple[str, ...], index: int = 5) -> None:
    """Flip one bit of a base64 field of the bundle at ``path``."""
    node: Any = doc
    for p in path[:-1]:
        node = node[p] if not isinstance(node, list) else node[int(p)]
    raw = bytearray(base64.b64decode(node[path[-1]]))
    raw[index] ^= 0x01
    node[path[-1]] = base64.b64encode(bytes(raw)).decode()


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def _pub_pem(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_keyless_message_signature_any_key(test_sigstore: TestSigstore, tmp_path: Path, key_type: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Keyless blob bundles from P-384/P-521 (SHA-384/SHA-512 digest) and RSA certificates verify; an RSA bundle
    used to crash (exit 3), a P-384 one was compared with SHA-256."""
    signer = test_sigstore.issue(key_type=key_type)
    bundle = test_sigstore.blob_bundle(DATA, signer)
    art = _write(tmp_path, "pkg.tgz", DATA)
    root = test_sigstore.write_trusted_root(tmp_path)
    base = ["--trusted-root", str(root), *_identity()]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", bundle)), *base, str(art)])
    assert rc == 0, out
    assert out["details"]["content"] == "message_signature"
    # Tampered twins: the signature, the file.
    doc = json.loads(bundle)
    _flip_b64(doc, ("messageSignature", "signature"), index=20)
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "t.json", json.dumps(doc).encode())), *base, str(art)])
    assert (rc, _code(out)) == (1, Code.INVALID_SIGNATURE)
    other = _write(tmp_path, "other.tgz", DATA + b"!")
    rc, out = _run(capsys, ["--bundle", str(tmp_path / "b.json"), *base, str(other)])
    assert (rc, _code(out)) == (1, Code.DIGEST_MISMATCH)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_keyless_dsse_any_key(test_sigstore: TestSigstore, tmp_path: Path, key_type: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    signer = test_sigstore.issue(key_type=key_type)
    st = statement(hashlib.sha256(DATA).hexdigest(), "https://slsa.dev/provenance/v1", predicate={"x": 1})
    bundle = test_sigstore.dsse_bundle(st, signer)
    art = _write(tmp_path, "pkg.tgz", DATA)
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)), *_identity()]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", bundle)), *base, str(art)])
    assert rc == 0, out
    assert out["details"]["kind"] == "attestation"
    doc = json.loads(bundle)
    _flip_b64(doc, ("dsseEnvelope", "signatures", "0", "sig"), index=20)
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "t.json", json.dumps(doc).encode())), *base, str(art)])
    assert (rc, _code(out)) == (1, Code.INVALID_SIGNATURE)


@pytest.mark.parametrize("key_type", ["p256", *KEY_TYPES])
@pytest.mark.parametrize("tlog", ["require", "ignore"])
def test_key_message_signature_any_key(test_sigstore: TestSigstore, tmp_path: Path, key_type: str, tlog: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    key = new_key(key_type)
    bundle = test_sigstore.key_blob_bundle(DATA, key, pss=key_type.endswith("-pss"))
    art = _write(tmp_path, "pkg.tgz", DATA)
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)),
            "--key", str(_write(tmp_path, "k.pub", _pub_pem(key))),
            *(["--insecure-ignore-tlog"] if tlog == "ignore" else [])]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", bundle)), *base, str(art)])
    assert rc == 0, out
    doc = json.loads(bundle)
    _flip_b64(doc, ("messageSignature", "signature"), index=20)
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "t.json", json.dumps(doc).encode())), *base, str(art)])
    assert (rc, _code(out)) == (1, Code.INVALID_SIGNATURE)
    rc, out = _run(capsys, ["--bundle", str(tmp_path / "b.json"), *base, str(_write(tmp_path, "o", DATA + b"!"))])
    assert (rc, _code(out)) == (1, Code.DIGEST_MISMATCH)


def test_key_signature_without_message_digest_uses_the_keys_hash(test_sigstore: TestSigstore, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """No messageDigest: a P-384 key's signature is checked over the SHA-384 digest (its own hash)."""
    key = new_key("p384")
    bundle = test_sigstore.key_blob_bundle(DATA, key, with_digest=False)
    art = _write(tmp_path, "pkg.tgz", DATA)
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)),
            "--key", str(_write(tmp_path, "k.pub", _pub_pem(key)))]
    assert _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", bundle)), *base, str(art)])[0] == 0
    rc, out = _run(capsys, ["--bundle", str(tmp_path / "b.json"), *base, str(_write(tmp_path, "o", b"x"))])
    assert (rc, _code(out)) == (1, Code.INVALID_SIGNATURE)


def test_sha384_bundle_needs_the_file_not_its_sha256(test_sigstore: TestSigstore, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    key = new_key("p384")
    bundle = _write(tmp_path, "b.json", test_sigstore.key_blob_bundle(DATA, key))
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)),
            "--key", str(_write(tmp_path, "k.pub", _pub_pem(key)))]
    rc, out = _run(capsys, ["--bundle", str(bundle), *base, "sha256:" + hashlib.sha256(DATA).hexdigest()])
    assert (rc, _code(out)) == (1, Code.UNSUPPORTED_FORMAT)
    assert "sha384" in out["reason"]["message"]


def test_message_digest_algorithm_is_checked(test_sigstore: TestSigstore, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A messageDigest relabelled SHA2_256 over a SHA-384 signature: the digest no longer matches."""
    key = new_key("p384")
    doc = json.loads(test_sigstore.key_blob_bundle(DATA, key))
    doc["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_256"
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)),
            "--key", str(_write(tmp_path, "k.pub", _pub_pem(key)))]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", json.dumps(doc).encode())), *base,
                            str(_write(tmp_path, "a", DATA))])
    assert (rc, _code(out)) == (1, Code.DIGEST_MISMATCH)
    doc["messageSignature"]["messageDigest"]["algorithm"] = "MD5"
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", json.dumps(doc).encode())), *base,
                            str(tmp_path / "a")])
    assert (rc, _code(out)) == (1, Code.INVALID_PAYLOAD)


@pytest.mark.parametrize("kind", ["message", "dsse"])
def test_key_hint_is_advisory(test_sigstore: TestSigstore, tmp_path: Path, kind: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """npm registry attestations carry npm's key id as the hint: with the right key the signature decides; with
    another key the hint does not help."""
    key, other = new_key("p256"), new_key("p256")
    st = statement(hashlib.sha256(DATA).hexdigest(), "https://github.com/npm/attestation/tree/main/specs/publish/v0.1")
    bundle = (test_sigstore.key_blob_bundle(DATA, key, hint=NPM_HINT) if kind == "message"
              else test_sigstore.key_dsse_bundle(st, key, hint=NPM_HINT))
    art = _write(tmp_path, "pkg.tgz", DATA)
    root = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path))]
    b = str(_write(tmp_path, "b.json", bundle))
    for tlog in ([], ["--insecure-ignore-tlog"]):
        rc, out = _run(capsys, ["--bundle", b, *root, "--key", str(_write(tmp_path, "k.pub", _pub_pem(key))), *tlog,
                                str(art)])
        assert rc == 0, out
        rc, out = _run(capsys, ["--bundle", b, *root, "--key", str(_write(tmp_path, "o.pub", _pub_pem(other))), *tlog,
                                str(art)])
        assert (rc, _code(out)) == (1, Code.INVALID_SIGNATURE)


def _sha512_bundle(ts: TestSigstore, digests: dict[str, str]) -> bytes:
    st = statement("", "https://slsa.dev/provenance/v1", predicate={"buildDefinition": {}},
                   name="pkg:npm/demo@1.0.0", digests=digests)
    return ts.dsse_bundle(st)


def test_sha512_only_subject(test_sigstore: TestSigstore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """npm provenance names its tarball by sha512 only: the file is hashed with sha512."""
    art = _write(tmp_path, "demo-1.0.0.tgz", DATA)
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)), *_identity()]
    good = _write(tmp_path, "g.json", _sha512_bundle(test_sigstore, {"sha512": hashlib.sha512(DATA).hexdigest()}))
    rc, out = _run(capsys, ["--bundle", str(good), *base, str(art)])
    assert rc == 0, out
    assert out["details"]["statement_subject_ok"] is True
    # Tampered twin: one bit of the subject digest.
    wrong = bytearray(hashlib.sha512(DATA).digest())
    wrong[0] ^= 1
    bad = _write(tmp_path, "t.json", _sha512_bundle(test_sigstore, {"sha512": wrong.hex()}))
    rc, out = _run(capsys, ["--bundle", str(bad), *base, str(art)])
    assert (rc, _code(out)) == (1, Code.DIGEST_MISMATCH)
    assert "sha512:" + hashlib.sha512(DATA).hexdigest() in out["reason"]["expected"]
    # Only the sha256 digest of the artifact is known: a sha512-only subject cannot be matched.
    rc, out = _run(capsys, ["--bundle", str(good), *base, "sha256:" + hashlib.sha256(DATA).hexdigest()])
    assert (rc, _code(out)) == (1, Code.DIGEST_MISMATCH)


@pytest.mark.parametrize(("digests", "ok"), [
    ({"sha384": hashlib.sha384(DATA).hexdigest()}, True),
    ({"sha256": hashlib.sha256(DATA).hexdigest(), "sha512": hashlib.sha512(DATA).hexdigest()}, True),
    ({"sha256": hashlib.sha256(DATA).hexdigest(), "sha512": "00" * 64}, False),  # one disagrees
    ({"sha512": hashlib.sha512(DATA).hexdigest(), "sha1": "00" * 20}, False),  # a weak one disagrees
    ({"sha1": hashlib.sha1(DATA).hexdigest()}, False),  # weak alone is never enough
    ({"md5": hashlib.md5(DATA).hexdigest()}, False),
    ({"gitCommit": "ab" * 20}, False),  # nothing sigverify can compare
    ({"sha512": hashlib.sha512(DATA).hexdigest().upper()}, True),
])
def test_subject_digest_rules(test_sigstore: TestSigstore, tmp_path: Path, digests: dict[str, str], ok: bool,
                              capsys: pytest.CaptureFixture[str]) -> None:
    art = _write(tmp_path, "a", DATA)
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)), *_identity()]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", _sha512_bundle(test_sigstore, digests))),
                            *base, str(art)])
    assert (rc, _code(out)) == ((0, None) if ok else (1, Code.DIGEST_MISMATCH))


def test_files_entry_with_p384_and_sha512_subject(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    """The config's `files:` path takes the same bundles."""
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.blob import verify_file
    from sigverify.policy.model import BlobEntry
    from tests.sigstore.helpers import key_authority, keyless

    art = _write(tmp_path, "pkg.tgz", DATA)
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    gha = keyless("gha", WORKFLOW, GITHUB_ISSUER)
    msg = _write(tmp_path, "m.json", test_sigstore.blob_bundle(DATA, test_sigstore.issue(key_type="p384")))
    dsse = _write(tmp_path, "d.json", _sha512_bundle(test_sigstore, {"sha512": hashlib.sha512(DATA).hexdigest()}))
    for bundle in (msg, dsse):
        checks = verify_file(BlobEntry(path=str(art), bundle=str(bundle)), [gha], trust)
        assert [c.ok for c in checks] == [True], checks
    rsa = new_key("rsa3072")
    keyed = _write(tmp_path, "k.json", test_sigstore.key_blob_bundle(DATA, rsa, hint=NPM_HINT))
    checks = verify_file(BlobEntry(path=str(art), bundle=str(keyed)), [key_authority("rsa", _pub_pem(rsa))], trust)
    assert [c.ok for c in checks] == [True], checks
    other = _write(tmp_path, "other.tgz", DATA + b"!")
    checks = verify_file(BlobEntry(path=str(other), bundle=str(dsse)), [gha], trust)
    assert checks[0].reason is not None and checks[0].reason.code == Code.DIGEST_MISMATCH


def test_large_file_keeps_sha384_and_sha512(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    """A file too large to keep in memory is hashed once with sha256, sha384 and sha512."""
    from sigverify.formats.blob import MAX_FILE_READ, read_blob_input

    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(64 * MAX_FILE_READ + 1)
    blob = read_blob_input(str(big))
    assert blob.data is None
    content = b"\0" * (64 * MAX_FILE_READ + 1)
    assert blob.digest("sha512") == hashlib.sha512(content).digest()
    assert blob.digest("sha384") == hashlib.sha384(content).digest()
    assert blob.digest("sha256") == hashlib.sha256(content).digest()
    assert blob.digest("sha1") is None


@pytest.mark.parametrize("key_type", ["p384", "p521", "rsa2048", "rsa4096-pss"])
def test_image_bundle_with_any_key(test_sigstore: TestSigstore, tmp_path: Path, key_type: str) -> None:
    """The image path (a bundle in the registry): keyless and key-signed DSSE bundles from P-384/P-521/RSA keys
    verify, and a flipped signature is INVALID_SIGNATURE (an RSA bundle was an internal error before)."""
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats import sigstore_bundle
    from tests.sigstore.helpers import bundle_candidate, context, key_authority, keyless

    digest_hex = hashlib.sha256(b"manifest").hexdigest()
    digest = "sha256:" + digest_hex
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    st = statement(digest_hex)
    key = new_key(key_type)
    cases = [
        (keyless("gha", WORKFLOW, GITHUB_ISSUER),
         test_sigstore.dsse_bundle(st, test_sigstore.issue(key_type=key_type))),
        (key_authority("k", _pub_pem(key)), test_sigstore.key_dsse_bundle(st, key, pss=key_type.endswith("-pss"))),
    ]
    for authority, raw in cases:
        check = sigstore_bundle.VERIFIER.verify(bundle_candidate(raw, digest), authority, context(digest, trust))
        assert check.ok, check.reason
        doc = json.loads(raw)
        _flip_b64(doc, ("dsseEnvelope", "signatures", "0", "sig"), index=20)
        bad = sigstore_bundle.VERIFIER.verify(bundle_candidate(json.dumps(doc).encode(), digest), authority,
                                              context(digest, trust))
        assert not bad.ok and bad.reason is not None and bad.reason.code == Code.INVALID_SIGNATURE


def _as_promise_only_v01(raw: bytes) -> dict[str, Any]:
    """The bundle in npm's 2023 shape: v0.1, the entry's inclusionProof an explicit null."""
    doc: dict[str, Any] = json.loads(raw)
    doc["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
    doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"] = None
    doc["verificationMaterial"]["timestampVerificationData"] = None
    return doc


@pytest.mark.parametrize("kind", ["message", "dsse"])
def test_key_signed_promise_only_v01(test_sigstore: TestSigstore, tmp_path: Path, kind: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """npm publish-attestation shape with the test Sigstore: verified by SET, signature and log body; the entry
    of another signature by the same key (a valid SET) is refused, and so is a forged SET."""
    key = new_key("p256")
    st = statement(hashlib.sha256(DATA).hexdigest(), "https://github.com/npm/attestation/tree/main/specs/publish/v0.1")

    def make(data: bytes) -> bytes:
        if kind == "message":
            return test_sigstore.key_blob_bundle(data, key, hint=NPM_HINT)
        return test_sigstore.key_dsse_bundle({**st, "predicate": {"n": len(data)}}, key, hint=NPM_HINT)

    good = _as_promise_only_v01(make(DATA))
    other = _as_promise_only_v01(make(DATA + b"other"))
    art = str(_write(tmp_path, "pkg.tgz", DATA))
    base = ["--trusted-root", str(test_sigstore.write_trusted_root(tmp_path)),
            "--key", str(_write(tmp_path, "k.pub", _pub_pem(key)))]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "b.json", json.dumps(good).encode())), *base, art])
    assert rc == 0, out
    assert out["details"]["tlog"]["inclusion"] == "promise only (v0.1)"
    swapped = json.loads(json.dumps(good))
    swapped["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"]
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "s.json", json.dumps(swapped).encode())), *base, art])
    assert (rc, _code(out)) == (1, Code.TLOG_INVALID)
    forged = json.loads(json.dumps(good))
    _flip_b64(forged, ("verificationMaterial", "tlogEntries", "0", "inclusionPromise", "signedEntryTimestamp"), 10)
    rc, out = _run(capsys, ["--bundle", str(_write(tmp_path, "f.json", json.dumps(forged).encode())), *base, art])
    assert (rc, _code(out)) == (1, Code.TLOG_INVALID)


@pytest.mark.parametrize("key_type", ["p256", "p384", "p521", "rsa3072"])
def test_detached_key_signature_of_a_large_file(tmp_path: Path, key_type: str) -> None:
    """A file too large to keep: a detached key signature is checked over its digest with the key's own hash
    (P-384: SHA-384, P-521: SHA-512; cosign >= 2.5), and a signature over other bytes is INVALID_SIGNATURE."""
    from sigverify.crypto.keys import load_pem_public_key
    from sigverify.formats.blob import MAX_FILE_READ, read_blob_input, verify_detached_key_signature
    from tests.fixtures.testsigstore import sign_with

    size = 64 * MAX_FILE_READ + 1
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(size)
    blob = read_blob_input(str(big))
    assert blob.data is None
    key = new_key(key_type)
    pub = load_pem_public_key(_pub_pem(key), "k.pub")
    good = base64.b64encode(sign_with(key, b"\0" * size))
    check = verify_detached_key_signature(blob, signature=good, key=pub, signature_label="big.sig")
    assert check.ok, check.reason
    bad = base64.b64encode(sign_with(key, b"\0" * (size - 1)))
    check = verify_detached_key_signature(blob, signature=bad, key=pub, signature_label="big.sig")
    assert check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE
