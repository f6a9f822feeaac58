"""From admission policy to CI gate against the real docker-registry: a Kyverno policy imported as it is, the
images of a Deployment verified with it; the signed one passes, the unsigned one fails at its manifest line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sigverify.cli import main
from tests.fixtures.cosign_sign import generate_key, sign_image, signature_manifest
from tests.fixtures.registry import RegistryServer, unique_repo

pytestmark = pytest.mark.registry


def test_imported_kyverno_policy_gates_a_deployment(registry: RegistryServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    key = generate_key("p256")
    repo = unique_repo("imported")
    signed_digest, _ = registry.push_image(repo, "1.0")
    art = signature_manifest(signed_digest, [sign_image(key, signed_digest, annotations={"team": "payments"})])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    registry.push_image(repo, "unsigned")
    pem = textwrap.indent(key.public_pem.decode().strip(), " " * 16)
    Path("kyverno.yaml").write_text(f"""apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: payments}}
spec:
  validationFailureAction: Enforce
  rules:
  - name: signed
    verifyImages:
    - imageReferences: ["{registry.host}/{repo.split('/')[0]}/*"]
      mutateDigest: false
      verifyDigest: false
      attestors:
      - entries:
        - keys:
            publicKeys: |-
{pem}
            rekor: {{ignoreTlog: true}}
          annotations: {{team: payments}}
""")
    assert main(["import", "kyverno.yaml", "-o", "sigverify.yaml"]) == 0, capsys.readouterr().err
    with open("sigverify.yaml", "a", encoding="utf-8") as fh:  # the one thing a CI gate adds: how to reach it
        fh.write(f"registries:\n  {registry.host}: {{insecure: true}}\n")
    Path("deploy.yaml").write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: pay}}
spec:
  template:
    spec:
      containers:
      - name: api
        image: {registry.host}/{repo}:1.0
      - name: worker
        image: {registry.host}/{repo}:unsigned
""")
    capsys.readouterr()
    code = main(["verify", "--config", "sigverify.yaml", "--images-from", "deploy.yaml", "--json", "out.json",
                 "--ci", "none"])
    report = json.loads(Path("out.json").read_text())
    verdicts = {(i["reference"], i["verdict"], i["source"]["line"]) for i in report["images"]}
    assert code == 1, capsys.readouterr()
    assert verdicts == {(f"{registry.host}/{repo}:1.0", "pass", 9), (f"{registry.host}/{repo}:unsigned", "fail", 11)}
    failed = next(i for i in report["images"] if i["verdict"] == "fail")
    assert failed["reasons"][0]["code"] == "NO_SIGNATURE"
