"""Every sigstore-conformance bundle-verify case through `sigverify verify-blob` (the conformance CLI protocol)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigverify.cli.verify_blob import main
from tests.fixtures.vectors import vectors_root

DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
SUITE = vectors_root() / "sigstore-conformance" / "test" / "assets" / "bundle-verify"
# A case whose key.pub is not a valid key, or whose trusted root has a log key without validFor.start (valid
# forever): a configuration error (exit 2), still "not verified".
BROKEN_KEY_CASES = {"managed-key-wrong-key_fail", "trust-root-tlog-missing-validity-start_fail"}


def _cases() -> list[str]:
    if not SUITE.is_dir():
        return ["<missing>"]
    return sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def _argv(case: Path, *, fmt: str = "text") -> list[str]:
    argv = ["verify-bundle", "--bundle", str(case / "bundle.sigstore.json")]
    if (case / "key.pub").exists():
        argv += ["--key", str(case / "key.pub")]
    else:
        ident = (case / "identity").read_text().strip() if (case / "identity").exists() else DEFAULT_IDENTITY
        issuer = (case / "issuer").read_text().strip() if (case / "issuer").exists() else DEFAULT_ISSUER
        argv += ["--certificate-identity", ident, "--certificate-oidc-issuer", issuer]
    if (case / "trusted_root.json").exists():
        argv += ["--trusted-root", str(case / "trusted_root.json")]
    argv += ["--format", fmt]
    artifact = case / "artifact" if (case / "artifact").exists() else SUITE / "a.txt"
    argv.append(str(artifact))
    return argv


@pytest.mark.parametrize("name", _cases())
def test_conformance_case(name: str, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = SUITE / name
    if not case.is_dir():
        pytest.fail(f"conformance suite missing under {SUITE}")
    rc = main(_argv(case, fmt="json"))
    out = capsys.readouterr()
    if name.endswith("_fail"):
        assert rc == (2 if name in BROKEN_KEY_CASES else 1), out
        if rc == 1:
            result = json.loads(out.out)
            assert result["verified"] is False
            assert result["reason"]["code"]
    else:
        assert rc == 0, out.err
        result = json.loads(out.out)
        assert result["verified"] is True
        assert result["signer"]


def test_suite_is_complete(vectors: Path) -> None:
    assert len(_cases()) >= 70


def test_happy_path_text_output_names_identity_and_root(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(_argv(SUITE / "happy-path-v0.3"))
    out = capsys.readouterr().out
    assert rc == 0
    assert "Verified OK" in out and DEFAULT_IDENTITY in out and "issuer " + DEFAULT_ISSUER in out
    assert "trust root: embedded (sigstore-python" in out


def test_wrong_identity_fails_with_expected_and_found(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _argv(SUITE / "happy-path-v0.3")
    argv[argv.index("--certificate-identity") + 1] = "https://github.com/acme/app/.github/workflows/x.yml@refs/heads/main"
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1
    assert "IDENTITY_MISMATCH" in err and "expected: subject https://github.com/acme/app" in err
    assert f"found:    subject {DEFAULT_IDENTITY}" in err


def test_identity_regexp_is_whole_string(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _argv(SUITE / "happy-path-v0.3")
    i = base.index("--certificate-identity")
    ok = [*base[:i], "--certificate-identity-regexp", r"https://github\.com/sigstore-conformance/.*", *base[i + 2:]]
    assert main(ok) == 0
    partial = [*base[:i], "--certificate-identity-regexp", "sigstore-conformance", *base[i + 2:]]
    assert main(partial) == 1
    capsys.readouterr()


def test_digest_input_and_claims(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    digest = "sha256:" + hashlib.sha256((SUITE / "a.txt").read_bytes()).hexdigest()
    argv = [*_argv(SUITE / "happy-path-v0.3")[:-1], "--claim", "runner_environment=github-hosted", digest]
    assert main(argv) == 0
    argv_bad = [*_argv(SUITE / "happy-path-v0.3")[:-1], "--claim", "1.3.6.1.4.1.57264.1.11=self-hosted", digest]
    assert main(argv_bad) == 1
    err = capsys.readouterr().err
    assert "expected: 1.3.6.1.4.1.57264.1.11 self-hosted" in err
    assert "found:    1.3.6.1.4.1.57264.1.11 github-hosted" in err


@pytest.mark.parametrize(
    "argv_tail",
    [
        [],  # no identity, no key
        ["--certificate-identity", "x"],  # issuer missing
        ["--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--key", "k.pub"],
        ["--certificate-identity", "x", "--certificate-identity-regexp", "y", "--certificate-oidc-issuer", "z"],
        ["--claim", "nonsense=1", "--certificate-identity", "x", "--certificate-oidc-issuer", "y"],
    ],
)
def test_usage_errors_exit_2(argv_tail: list[str], vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--bundle", str(SUITE / "happy-path-v0.3" / "bundle.sigstore.json"), *argv_tail, str(SUITE / "a.txt")]
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_missing_bundle_file_is_usage_error(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--bundle", str(tmp_path / "nope.json"), "--certificate-identity", "x", "--certificate-oidc-issuer", "y",
            str(SUITE / "a.txt")]
    assert main(argv) == 2
    assert "cannot read" in capsys.readouterr().err
