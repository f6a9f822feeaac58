"""Policies shaped like the examples published in policy-controller's and Kyverno's documentation (written here
with this repository's key and names): each imports to a config that loads and means the same, or is refused
naming the field that cannot be carried over."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sigverify.cli import main
from sigverify.policy import load_config
from sigverify.policy.model import Config

KEY = (Path(__file__).resolve().parents[2] / "examples" / "keys" / "cosign.pub").read_text()


def _pem(indent: int) -> str:
    return textwrap.indent(KEY.strip(), " " * indent)


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Config | None, str]:
    src, out = tmp_path / "policy.yaml", tmp_path / "sigverify.yaml"
    src.write_text(text)
    code = main(["import", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    return code, (load_config(out) if code == 0 else None), err


def test_every_image_signed_by_a_kms_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, config, _ = _run(tmp_path, """apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed-by-kms}
spec:
  images:
  - glob: "**"
  authorities:
  - name: aws-kms
    key:
      kms: awskms:///arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
""", capsys)
    assert code == 0 and config is not None
    (policy,) = config.policies
    assert [m.pattern for m in policy.match] == ["**"] and policy.matches("docker.io/library/nginx")
    assert policy.authorities[0].key is not None
    assert policy.authorities[0].key.kms == "awskms:///arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_release_signed_by_a_github_workflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, config, _ = _run(tmp_path, """apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed-by-github-actions}
spec:
  images:
  - glob: "ghcr.io/acme/**"
  authorities:
  - keyless:
      url: https://fulcio.sigstore.dev
      identities:
      - issuer: https://token.actions.githubusercontent.com
        subject: "https://github.com/acme/app/.github/workflows/release.yaml@refs/tags/v0.3.0"
    ctlog:
      url: https://rekor.sigstore.dev
""", capsys)
    assert code == 0 and config is not None
    auth = config.policies[0].authorities[0]
    assert auth.keyless is not None and not auth.keyless.subject.regexp and auth.tlog == "require"
    assert str(auth.keyless.subject) == "https://github.com/acme/app/.github/workflows/release.yaml@refs/tags/v0.3.0"


def test_a_glob_naming_one_digest_and_keyless_without_identities(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(tmp_path, """apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: demo}
spec:
  images:
  - glob: ghcr.io/acme/tool:v1.9.0
  - glob: "ghcr.io/acme/webhook@sha256:d1e7af59381793687db4673277005276eb73a06cf555503138dd18eaa1ca47d6"
  authorities:
  - keyless:
      url: https://fulcio.sigstore.dev
""", capsys)
    assert code == 2
    assert ("policy.yaml:6: spec.images[0].glob: unsupported: policy-controller matches 'ghcr.io/acme/tool:v1.9.0' "
            "against whole references") in err
    assert "policy.yaml:7: spec.images[1].glob: unsupported:" in err and "not a valid policy-controller glob" in err
    assert "policy.yaml:10: spec.authorities[0].keyless.identities: unsupported: keyless without identities " \
           "accepts any signer" in err


def test_a_key_with_an_sbom_attestation_checked_by_cue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(tmp_path, f"""apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {{name: key-attestation-sbom}}
spec:
  images:
  - glob: "**"
  authorities:
  - name: custom-key
    key:
      data: |
{_pem(8)}
    ctlog:
      url: https://rekor.sigstore.dev
    attestations:
    - name: must-have-spdxjson
      predicateType: spdxjson
      policy:
        type: cue
        data: |
          predicateType: "https://spdx.dev/Document"
""", capsys)
    assert code == 2
    assert ":18: spec.authorities[0].attestations: unsupported: authority attestations (and their CUE/Rego" in err


def test_kyverno_key_without_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, config, err = _run(tmp_path, f"""apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image
spec:
  validationFailureAction: Enforce
  background: false
  webhookTimeoutSeconds: 30
  failurePolicy: Fail
  rules:
    - name: check-image
      match:
        any:
        - resources:
            kinds:
              - Pod
      verifyImages:
      - imageReferences:
        - "ghcr.io/acme/test-verify-image*"
        attestors:
        - count: 1
          entries:
          - keys:
              publicKeys: |-
{_pem(16)}
              rekor:
                ignoreTlog: true
                url: https://rekor.sigstore.dev
            annotations:
              sig: original
""", capsys)
    assert code == 0 and config is not None, err
    (policy,) = config.policies
    assert policy.name == "check-image/check-image" and policy.threshold == 1
    assert policy.matches("ghcr.io/acme/test-verify-image") and not policy.matches("ghcr.io/acme/other")
    (auth,) = policy.authorities
    assert auth.tlog == "ignore" and dict(auth.annotations) == {"sig": "original"}
    for field in ("background", "webhookTimeoutSeconds", "failurePolicy"):
        assert f"spec.{field}: not carried over" in err


def test_kyverno_skip_image_references(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, config, _ = _run(tmp_path, f"""apiVersion: kyverno.io/v2beta1
kind: ClusterPolicy
metadata:
  name: exclude-refs
spec:
  validationFailureAction: Enforce
  rules:
    - name: exclude-refs
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences:
        - "ghcr.io/*"
        skipImageReferences:
        - "ghcr.io/trusted/*"
        mutateDigest: false
        verifyDigest: false
        attestors:
        - count: 1
          entries:
          - keys:
              publicKeys: |-
{_pem(16)}
""", capsys)
    assert code == 0 and config is not None
    (policy,) = config.policies
    assert policy.matches("ghcr.io/acme/app") and policy.matches("ghcr.io/trustedx/app")
    assert not policy.matches("ghcr.io/trusted/app") and not policy.matches("ghcr.io/trusted/deep/app")


def test_kyverno_keyless_for_one_tag_and_an_attestation_only_rule(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(tmp_path, """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image-keyless
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-image-keyless
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences:
        - "ghcr.io/acme/test-verify-image:signed-keyless"
        attestors:
        - entries:
          - keyless:
              subject: "*@acme.example"
              issuer: "https://accounts.google.com"
              rekor:
                url: https://rekor.sigstore.dev
    - name: attest
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences:
        - "registry.acme.example/org/app*"
        attestations:
          - predicateType: https://example.com/CodeReview/v1
            conditions:
              - all:
                - key: "{{ repo.branch }}"
                  operator: Equals
                  value: "main"
                - key: "{{ reviewers }}"
                  operator: AnyIn
                  value: ["ana@acme.example", "bob@acme.example"]
""", capsys)
    assert code == 2
    assert ("policy.yaml:15: spec.rules[0].verifyImages[0].imageReferences[0]: unsupported: Kyverno matches "
            "'ghcr.io/acme/test-verify-image:signed-keyless' against whole references") in err
    assert "tip: match the repository, ghcr.io/acme/test-verify-image, to require this for every tag" in err
    assert "policy.yaml:29: spec.rules[1].verifyImages[0].attestors: unsupported: a rule without signature" in err


def test_kyverno_ignore_sct_and_custom_log_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(tmp_path, f"""apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: custom-logs}}
spec:
  rules:
    - name: r
      verifyImages:
      - imageReferences: ['ghcr.io/acme/*']
        attestors:
        - entries:
          - keys:
              publicKeys: |-
{_pem(16)}
              rekor:
                pubkey: a-rekor-key
              ctlog:
                ignoreSCT: true
""", capsys)
    assert code == 2
    assert ":18: spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor.pubkey: unsupported" in err
    assert ":20: spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.ctlog.ignoreSCT: unsupported" in err
