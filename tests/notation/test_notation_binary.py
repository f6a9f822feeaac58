"""The real `notation` binary signs into an OCI layout (JWS and COSE, with and without --user-metadata);
`notation verify` and sigverify's verifier must agree on each verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sigverify.models import Code, Descriptor
from tests.fixtures.peers import offline_env, require_peer
from tests.notation.helpers import layout_candidates, run, sha256

pytestmark = pytest.mark.peers

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> str:
    digest = sha256(data)
    (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    return digest


def make_layout(layout: Path) -> Descriptor:
    """A minimal OCI image layout with one image tagged v1."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    config, content = b"{}", b"hello from sigverify\n"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _blob(layout, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _blob(layout, content),
                    "size": len(content),
                }
            ],
        }
    ).encode()
    digest = _blob(layout, manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return Descriptor(MANIFEST, digest, len(manifest))


class NotationCLI:
    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.env = offline_env(home)
        self.env["NOTATION_EXPERIMENTAL"] = "1"  # --oci-layout is a preview feature
        self.config = Path(self.env["XDG_CONFIG_HOME"]) / "notation"

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def setup(self, name: str) -> Path:
        r = self("cert", "generate-test", "--default", name)
        assert r.returncode == 0, r.stderr
        policy = {
            "version": "1.0",
            "trustPolicies": [
                {
                    "name": "binary",
                    "registryScopes": ["*"],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": [f"ca:{name}"],
                    "trustedIdentities": ["*"],
                }
            ],
        }
        for fname in ("trustpolicy.json", "trustpolicy.oci.json"):
            (self.config / fname).write_text(json.dumps(policy))
        return self.config / "localkeys" / f"{name}.crt"


@pytest.fixture
def notation(tmp_path: Path) -> NotationCLI:
    return NotationCLI(require_peer("notation"), tmp_path / "home")


@pytest.mark.parametrize("metadata", [False, True])
@pytest.mark.parametrize("fmt", ["jws", "cose"])
def test_notation_signs_sigverify_agrees(tmp_path: Path, notation: NotationCLI, fmt: str, metadata: bool) -> None:
    cert = notation.setup("sv")
    layout = tmp_path / "layout"
    subject = make_layout(layout)
    ref = f"{layout}@{subject.digest}"
    meta = ["--user-metadata", "buildId=123"] if metadata else []
    r = notation("sign", "--oci-layout", "--key", "sv", "--signature-format", fmt, *meta, ref)
    assert r.returncode == 0, r.stderr

    (cand,) = layout_candidates(layout, subject)
    assert cand.layer.media_type == ("application/jose+json" if fmt == "jws" else "application/cose")

    # 1. no metadata required: both accept
    assert notation("verify", "--oci-layout", "--scope", "local/test", ref).returncode == 0
    direct = {"trust_store": str(cert), "trusted_identities": ["*"], "level": "strict"}
    check = run(cand, direct, subject)
    assert check.ok, check.reason
    assert check.details["envelope"] == fmt
    # the same through notation's own trustpolicy.json and trust store directory
    policy_form = {
        "trust_policy": str(notation.config / "trustpolicy.json"),
        "trust_store_dir": str(notation.config / "truststore"),
    }
    assert run(cand, policy_form, subject).ok

    # 2. metadata required: both accept when signed with it, both reject otherwise
    want = ["--user-metadata", "buildId=123"]
    theirs = notation("verify", "--oci-layout", "--scope", "local/test", *want, ref).returncode == 0
    ours = run(cand, {**direct, "metadata": {"buildId": "123"}}, subject)
    assert theirs == metadata
    assert ours.ok == metadata
    if not metadata:
        assert ours.reason is not None and ours.reason.code == Code.ANNOTATION_MISMATCH

    # 3. a different value: both reject
    assert (
        notation("verify", "--oci-layout", "--scope", "local/test", "--user-metadata", "buildId=9", ref).returncode != 0
    )
    assert not run(cand, {**direct, "metadata": {"buildId": "9"}}, subject).ok


def test_untrusted_certificate_both_reject(tmp_path: Path, notation: NotationCLI) -> None:
    notation.setup("signer")
    other_home = NotationCLI(notation.binary, tmp_path / "other")
    other_cert = other_home.setup("other")
    layout = tmp_path / "layout"
    subject = make_layout(layout)
    ref = f"{layout}@{subject.digest}"
    assert notation("sign", "--oci-layout", "--key", "signer", ref).returncode == 0
    (cand,) = layout_candidates(layout, subject)
    assert other_home("verify", "--oci-layout", "--scope", "local/test", ref).returncode != 0
    check = run(cand, {"trust_store": str(other_cert), "trusted_identities": ["*"]}, subject)
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
