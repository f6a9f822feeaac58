"""sigverify explain: without the network, the policies, authorities and formats each image gets, and for an
image no policy matches, the nearest pattern and why it does not match."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sigverify.cli import main

KEY = Path(__file__).resolve().parents[1] / "examples" / "keys" / "cosign.pub"
MANIFESTS = Path(__file__).resolve().parents[1] / "examples" / "manifests"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(f"""version: 1
images:
  - ghcr.io/acme/web:1.4.2
policies:
  - name: acme
    match: ["ghcr.io/acme/*"]
    threshold: 2
    authorities:
      - name: release-key
        key: {{path: {KEY}}}
        tlog: ignore
      - name: release-ci
        keyless: {{issuer: https://token.actions.githubusercontent.com, subject: https://github.com/acme/x}}
    attestations:
      - predicate_type: https://slsa.dev/provenance/v1
        authorities: [release-ci]
  - name: vendor
    match: ["quay.io/vendor/**"]
    mode: warn
    authorities:
      - name: vendor-ca
        notation: {{trust_store: {KEY}, trusted_identities: ["*"]}}
""")
    return cfg


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("explain must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_matching_policies_authorities_and_formats(config: Path, no_network: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"ghcr.io/acme/web:1.4.2  ({config}:3)" in out
    assert f"policy 'acme' ({config}:5) matches through ghcr.io/acme/*" in out
    assert "mode: enforce; needs a signature from 2 of 2 authorities" in out
    assert "authority 'release-key': key path:" in out and "transparency log not checked (tlog: ignore)" in out
    assert ("authority 'release-ci': keyless issuer https://token.actions.githubusercontent.com subject "
            "https://github.com/acme/x; transparency log required") in out
    # key: classic signatures and bundles; keyless with an attestation requirement: attestations too
    lines = out.splitlines()
    key_formats = lines[lines.index(next(x for x in lines if "'release-key'" in x)) + 1]
    ci_formats = lines[lines.index(next(x for x in lines if "'release-ci'" in x)) + 1]
    assert key_formats.strip() == "formats looked for: cosign-classic, cosign-attestation, sigstore-bundle"
    assert ci_formats.strip() == "formats looked for: cosign-classic, cosign-attestation, sigstore-bundle"
    assert "attestation https://slsa.dev/provenance/v1 from release-ci" in out


def test_notation_and_warn_mode(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config), "quay.io/vendor/db/pg:16"]) == 0
    out = capsys.readouterr().out
    assert "mode: warn" in out
    assert "authority 'vendor-ca': notation trust store" in out
    assert "formats looked for: notation" in out


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("ghcr.io/acme/team/web:1", "the pattern has 3 segments and the image name 4"),
        ("ghcr.io/acmf/web:1", "path segment 2 differs: pattern 'acme', image 'acmf'"),
        ("docker.io/acme/web:1", "registry differs: the pattern names 'ghcr.io', the image is on 'docker.io'"),
    ],
)
def test_why_an_image_matches_nothing(image: str, why: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config), image]) == 0
    out = capsys.readouterr().out
    assert "no policy matches: the image fails with NO_POLICY (default: deny)" in out
    assert f"nearest pattern: ghcr.io/acme/* (policy 'acme', {config}:5)" in out
    assert why in out


def test_images_from_manifests_keep_their_lines(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config), "--images-from", str(MANIFESTS / "app.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"ghcr.io/acme/migrate:2.0  ({MANIFESTS / 'app.yaml'}:18)" in out
    assert "ghcr.io/acme/web:1.4.2" in out


def test_an_invalid_reference_is_shown(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config), "ghcr.io/Acme/x"]) == 0
    assert "invalid reference:" in capsys.readouterr().out


def test_a_layout_listed_in_the_config_is_relative_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # not the config's directory
    example = Path(__file__).resolve().parents[1] / "examples" / "sigverify.yaml"
    assert main(["explain", "--config", str(example)]) == 0
    out = capsys.readouterr().out
    assert "oci:oci-layout:app-1.0" in out
    assert "no policy matches" not in out and "policy 'example-release'" in out


@pytest.mark.parametrize("command", ["explain", "lint", "import"])
def test_quoted_files_cannot_become_workflow_commands(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      config: Path) -> None:
    import io
    import sys

    from sigverify import ci

    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    log = io.StringIO()
    monkeypatch.setattr(sys, "stdout", log)
    monkeypatch.setattr(sys, "stderr", log)
    policy = tmp_path / "cip.yaml"
    policy.write_text("apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: p}\n"
                      "spec: {images: [{glob: 'ghcr.io/x/y'}], authorities: [{key: {data: '::add-mask::x'}}]}\n")
    argv = {"explain": ["explain", "--config", str(config), "ghcr.io/acme/x::add-mask::x"],
            "lint": ["lint", "--config", str(config)],
            "import": ["import", str(policy)]}[command]
    main(argv)
    text = log.getvalue()
    assert text.startswith("::stop-commands::")
    assert text.rstrip().splitlines()[-1].startswith("::")  # resumed on exit


def test_control_characters_are_shown_escaped(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(config), "ghcr.io/acme/x\x1b[31m\nfake"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[31m\\nfake" in out
