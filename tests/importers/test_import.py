"""sigverify import: every example converts to a config sigverify's own loader accepts (round trip), with the
meaning carried over; what cannot be carried over is listed with file:line and path, and is exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigverify.cli import main
from sigverify.importers import kyverno as kyverno_importer
from sigverify.policy import load_config
from sigverify.policy.model import Config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
KEY = (Path(__file__).resolve().parents[2] / "examples" / "keys" / "cosign.pub").read_bytes()


def _import(tmp_path: Path, example: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[Config, str]:
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(EXAMPLES / example), "-o", str(out), *extra]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    return load_config(out), err


def _refused(tmp_path: Path, example: str | Path, capsys: pytest.CaptureFixture[str]) -> str:
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(example), "-o", str(out)]) == 2
    assert not out.exists()  # nothing is written when anything cannot be carried over
    return capsys.readouterr().err


def test_policy_controller_key_and_keyless_authorities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, err = _import(tmp_path, "policy-controller.yaml", capsys)
    (policy,) = config.policies
    assert policy.name == "acme-release"
    assert [m.pattern for m in policy.match] == ["ghcr.io/acme/*/**"]
    assert policy.matches("ghcr.io/acme/app") and not policy.matches("ghcr.io/acme")
    assert policy.threshold == 1 and policy.mode == "enforce"  # one of the authorities, as policy-controller admits
    key, keyless = policy.authorities
    assert (key.name, key.kind, key.key and key.key.pem) == ("release-key", "key", KEY)
    assert key.tlog == "require"  # policy-controller always checks the public Rekor
    assert (keyless.name, keyless.kind, keyless.tlog) == ("release-workflow", "keyless", "require")
    assert keyless.keyless is not None
    assert str(keyless.keyless.issuer) == "https://token.actions.githubusercontent.com"
    subject = keyless.keyless.subject
    assert subject.regexp
    assert subject.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0")
    assert not subject.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main")
    assert "1 policy imported" in err


def test_policy_controller_warn_identities_and_kms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, err = _import(tmp_path, "policy-controller-warn.yaml", capsys)
    team, vendor = config.policies
    assert team.mode == "warn" and [m.pattern for m in team.match] == ["registry.example.com/team/svc-*"]
    google, oidc = team.authorities  # two identities: two authorities, any one of them suffices
    assert google.keyless and str(google.keyless.subject) == "builder@example.com"
    assert oidc.keyless and oidc.keyless.subject.matches("the-ci-bot")  # Go regexps match anywhere
    assert vendor.authorities[0].key and vendor.authorities[0].key.kms == "awskms:///alias/vendor-signing"
    assert "policy-controller-warn.yaml:9: spec.match: not carried over: applies to admission" in err


def test_policy_controller_cue_attestations_static_and_tag_globs_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(tmp_path, EXAMPLES / "policy-controller-cue.yaml", capsys)
    assert "policy-controller-cue.yaml:8: spec.images[0].glob: unsupported: 'ghcr.io/acme/app:**' names a tag" in err
    assert "tip: match the repository instead: ghcr.io/acme/app" in err
    assert ":15: spec.authorities[0].attestations: unsupported: authority attestations (and their CUE/Rego" in err
    assert ":22: spec.authorities[1].static: unsupported: a static authority (action: pass)" in err
    assert "3 field(s) cannot be carried over" in err


def test_kyverno_keys_keyless_count_skip_and_attestations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, err = _import(tmp_path, "kyverno.yaml", capsys)
    by_key, reviewed = config.policies
    assert by_key.name == "verify-acme/signed-by-key"
    assert by_key.matches("ghcr.io/acme/api") and by_key.matches("ghcr.io/acme/api/v2")
    assert not by_key.matches("ghcr.io/acme/web")
    (key,) = by_key.authorities
    assert key.key and key.key.pem == KEY and key.tlog == "ignore" and dict(key.annotations) == {"team": "payments"}
    assert reviewed.threshold == 2  # count: 2 of 2 entries
    assert reviewed.matches("ghcr.io/acme/app") and reviewed.matches("ghcr.io/acme/team/app")
    assert not reviewed.matches("ghcr.io/acme/sandbox/try")  # skipImageReferences
    release, reviewer = reviewed.authorities
    assert release.keyless and release.keyless.subject.matches(
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1")
    assert {k: str(v) for k, v in release.keyless.claims.items()} == {"github_workflow_trigger": "push"}
    assert reviewer.keyless and reviewer.keyless.subject.matches("reviewer-ana@acme.example")
    assert not reviewer.keyless.subject.matches("xreviewer-ana@acme.example")
    (att,) = reviewed.attestations
    assert att.predicate_type == "https://slsa.dev/provenance/v1" and att.authorities == ("keyless-1",)
    assert [dict(c) for c in att.conditions] == [
        {"jmespath": "buildDefinition.buildType", "equals": "https://actions.github.io/buildtypes/workflow/v1"}]
    assert "kyverno.yaml:9: spec.background: not carried over" in err


def test_kyverno_digest_rules_become_require_digest_when_available(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(EXAMPLES / "kyverno.yaml"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    text = out.read_text()
    if kyverno_importer.require_digest_supported():
        assert text.count("require_digest: true") == 2
    else:  # reported (never dropped silently), and the rest of the policy still imports
        assert "require_digest" not in text.split("version: 1", 1)[1]
        assert "kyverno.yaml:18: spec.rules[0].verifyImages[0]: not carried over: mutateDigest/verifyDigest" in err


def test_kyverno_refusals_name_each_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(tmp_path, EXAMPLES / "kyverno-refused.yaml", capsys)
    assert ("kyverno-refused.yaml:15: spec.rules[0].verifyImages[0].imageReferences[0]: unsupported: Kyverno "
            "matches 'ghcr.io/acme/tool:signed' against whole references") in err
    assert ":26: spec.rules[1].verifyImages[0].attestors: unsupported: a rule without signature attestors" in err
    assert ":43: spec.rules[2].verifyImages[0].attestors[0].entries[0].certificates: unsupported" in err


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("keys: {publicKeys: 'k8s://ns/secret'}", "publicKeys: unsupported: a key in a Kubernetes Secret"),
        ("keyless: {subject: a@b.example}", "keyless: unsupported: keyless needs exactly one of issuer, issuerRegExp"),
        ("keyless: {subject: a, issuer: https://i, roots: x}", "roots: unsupported: custom Fulcio roots"),
        ("keyless: {subject: a, issuer: https://i, rekor: {url: 'https://rekor.internal'}}", "a private Rekor"),
        ("keys: {publicKeys: x, ctlog: {ignoreSCT: true}}", "ctlog.ignoreSCT: unsupported"),
        ("keyless: {subject: a, issuer: https://i, additionalExtensions: {buildTrigger: x}}",
         "additionalExtensions.buildTrigger: unsupported"),
    ],
)
def test_kyverno_entry_fields_that_cannot_carry_over(snippet: str, expected: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(f"""apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: p}}
spec:
  rules:
  - name: r
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      mutateDigest: false
      verifyDigest: false
      attestors:
      - entries:
        - {snippet}
""")
    err = _refused(tmp_path, f, capsys)
    assert expected in err, err


def test_policy_controller_unknown_fields_are_never_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    f = tmp_path / "cip.yaml"
    f.write_text("""apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: p}
spec:
  images: [{glob: "ghcr.io/acme/*"}]
  authorities:
  - keyless:
      url: https://fulcio.internal.example
      identities: [{issuer: https://i.example, subject: s}]
    rfc3161timestamp: {trustRootRef: tsa}
""")
    err = _refused(tmp_path, f, capsys)
    assert "cip.yaml:8: spec.authorities[0].keyless.url: unsupported: a private Fulcio" in err
    assert "cip.yaml:10: spec.authorities[0].rfc3161timestamp: unsupported: 'rfc3161timestamp' has no" in err


def test_notation_trust_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "w"
    shutil.copytree(EXAMPLES, work)
    (work / "truststore" / "x509" / "ca" / "acme").mkdir(parents=True)  # notation's layout; the reader's CA goes here
    out = work / "out" / "sigverify.yaml"
    out.parent.mkdir()
    code = main(["import", str(work / "trustpolicy.json"), "-o", str(out), "--trust-store-dir",
                 str(work / "truststore")])
    assert code == 0, capsys.readouterr().err
    (policy,) = load_config(out).policies
    assert policy.matches("registry.acme.example/app") and policy.matches("ghcr.io/any/thing")
    notation = policy.authorities[0].notation
    assert notation is not None
    assert notation["trust_policy"] == str(work / "trustpolicy.json")  # written relative to the output file
    assert notation["trust_store_dir"] == str(work / "truststore")
    assert "trust_policy: ../trustpolicy.json" in out.read_text()


def test_not_a_policy_and_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert "x.yaml:2: kind: unsupported: not a policy sigverify can import" in _refused(tmp_path, f, capsys)
    f.write_text("kind: ClusterImagePolicy\nkind: again\n")
    assert main(["import", str(f)]) == 2
    assert "x.yaml:2: kind: duplicate key 'kind'" in capsys.readouterr().err


def test_stdout_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(EXAMPLES / "policy-controller.yaml")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Imported by `sigverify import`")
    assert "- name: acme-release" in captured.out


def test_a_trust_policy_notation_would_refuse_is_refused_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    (tmp_path / "store").mkdir()
    bad = tmp_path / "trustpolicy.json"
    bad.write_text('{"version": "2.0", "trustPolicies": [{"name": "a", "registryScopes": ["*"], '
                   '"signatureVerification": {"level": "skip"}}]}')
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(bad), "-o", str(out), "--trust-store-dir", str(tmp_path / "store")]) == 2
    assert not out.exists()
    assert "unsupported version '2.0'" in capsys.readouterr().err


def test_source_text_cannot_escape_the_header_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cip.yaml"
    f.write_text("""apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: "p\\u2028default: allow"}
spec:
  images: [{glob: "ghcr.io/acme/*"}]
  authorities: [{key: {kms: "awskms:///alias/k"}}]
""")
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(f), "-o", str(out)]) == 0, capsys.readouterr().err
    text = out.read_text()
    assert "# Source: ClusterImagePolicy p\\u2028default: allow" in text  # escaped: PyYAML breaks lines at U+2028
    assert load_config(out).default == "deny"


def test_kyverno_attestation_goes_to_the_set_that_attests_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("""apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: two-sets, namespace: prod}
spec:
  rules:
  - name: r
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors:
      - entries:
        - keyless: {subject: dev@acme.example, issuer: https://accounts.google.com}
      - entries:
        - keyless: {subject: builder@acme.example, issuer: https://accounts.google.com}
      attestations:
      - predicateType: https://slsa.dev/provenance/v1
        attestors:
        - entries:
          - keyless: {subject: builder@acme.example, issuer: https://accounts.google.com}
""")
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(f), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    first, second = load_config(out).policies  # both attestor sets must be satisfied: two policies
    assert (first.name, second.name) == ("two-sets/r/1", "two-sets/r/2")
    assert first.attestations == ()
    (att,) = second.attestations
    assert att.authorities == ("keyless-1",)
    assert err.count("mutateDigest/verifyDigest") <= 1
