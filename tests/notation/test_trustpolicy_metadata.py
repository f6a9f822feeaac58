"""`notation: {trust_policy, trust_store_dir, metadata}`: the loader accepts `metadata` beside a trustpolicy.json
(notation takes user metadata on the command line, `notation verify --user-metadata`, not from the file), and the
verifier requires it to be signed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sigverify.models import Code, Descriptor
from sigverify.policy import load_config
from tests.notation import signer as sg
from tests.notation.helpers import envelope_candidate, run

SUBJECT = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 1234)


def _files(tmp_path: Path, s: sg.Signer) -> tuple[Path, Path]:
    store = tmp_path / "ts" / "x509" / "ca" / "release"
    store.mkdir(parents=True)
    (store / "root.pem").write_bytes(sg.pem(s.root))
    doc = tmp_path / "trustpolicy.json"
    doc.write_text(json.dumps({"version": "1.0", "trustPolicies": [{
        "name": "release", "registryScopes": ["*"], "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:release"], "trustedIdentities": ["*"]}]}))
    return doc, tmp_path / "ts"


def test_loader_accepts_metadata_beside_trust_policy(tmp_path: Path) -> None:
    doc, _ = _files(tmp_path, sg.self_signed())
    config = tmp_path / "sigverify.yaml"
    config.write_text(
        "version: 1\npolicies:\n  - name: p\n    match: ['registry.example/**']\n    authorities:\n"
        f"      - name: n\n        notation: {{trust_policy: {doc.name}, trust_store_dir: ts, "
        "metadata: {buildId: '123'}}\n", encoding="utf-8")
    notation = load_config(config).policies[0].authorities[0].notation
    assert notation is not None and notation["metadata"] == {"buildId": "123"}


def test_metadata_beside_trust_policy_must_be_signed(tmp_path: Path) -> None:
    s = sg.self_signed()
    doc, store_dir = _files(tmp_path, s)
    cfg: dict[str, Any] = {"trust_policy": str(doc), "trust_store_dir": str(store_dir), "metadata": {"buildId": "123"}}
    signed = envelope_candidate(sg.sign_jws(s, sg.payload(SUBJECT, {"buildId": "123"})), "application/jose+json",
                                SUBJECT.digest)
    assert run(signed, cfg, SUBJECT).ok
    unsigned = envelope_candidate(sg.sign_jws(s, sg.payload(SUBJECT)), "application/jose+json", SUBJECT.digest)
    result = run(unsigned, cfg, SUBJECT)
    assert not result.ok and result.reason is not None and result.reason.code == Code.ANNOTATION_MISMATCH
