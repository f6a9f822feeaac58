"""The notation e2e layouts through the whole gate (CLI in-process, discovery from the OCI layout on disk)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sigverify.formats import Format, register

LAYOUTS = "notation-e2e/test/e2e/testdata/registry/oci_layout"
KEYS = "notation-e2e/test/e2e/testdata/config/localkeys"


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wire the verifier for these tests only (restored afterwards; the lead wires it for real)."""
    import sigverify.formats as dispatch

    monkeypatch.setattr(dispatch, "VERIFIERS", dict(dispatch.VERIFIERS))
    register(Format.NOTATION, "notation", "sigverify.formats.notation:VERIFIER")


def _gate(tmp_path: Path, notation_vectors: Path, level: str, names: list[str]) -> dict[str, str]:
    for name in names:
        shutil.copytree(notation_vectors / LAYOUTS / name, tmp_path / name)
    shutil.copy(notation_vectors / KEYS / "e2e.crt", tmp_path / "e2e.crt")
    images = "".join(f"  - oci:{n}:v1\n" for n in names)
    (tmp_path / "sv.yaml").write_text(
        "version: 1\nimages:\n" + images + "policies:\n  - name: notary\n    match: ['oci:**']\n"
        "    authorities:\n      - name: e2e-ca\n        notation:\n          trust_store: e2e.crt\n"
        "          trusted_identities: ['x509.subject: C=US, ST=WA, O=Notary, CN=e2e']\n"
        f"          level: {level}\n"
    )
    from sigverify.cli import main

    report = tmp_path / "report.json"
    main(["verify", "-c", str(tmp_path / "sv.yaml"), "-q", "--ci", "none", "--json", str(report)])
    doc = json.loads(report.read_text())
    return {img["reference"].split(":")[1]: img["verdict"] for img in doc["images"]}


NAMES = ["e2e-valid-signature", "e2e-expired-signature", "e2e-invalid-signature", "e2e"]


def test_strict(tmp_path: Path, notation_vectors: Path) -> None:
    assert _gate(tmp_path, notation_vectors, "strict", NAMES) == {
        "e2e-valid-signature": "pass",
        "e2e-expired-signature": "fail",
        "e2e-invalid-signature": "fail",
        "e2e": "fail",
    }


def test_permissive_turns_expiry_into_a_warning(tmp_path: Path, notation_vectors: Path) -> None:
    assert _gate(tmp_path, notation_vectors, "permissive", NAMES) == {
        "e2e-valid-signature": "pass",
        "e2e-expired-signature": "warn",
        "e2e-invalid-signature": "fail",
        "e2e": "fail",
    }
