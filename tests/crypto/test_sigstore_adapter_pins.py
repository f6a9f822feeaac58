"""Pins every sigstore-python private member that crypto/sigstore_adapter.py overrides, calls or reads, so an
upgrade that renames or reshapes one fails here (in CI), not silently at a user's. pyproject.toml pins the minor
release these pins were taken from; on an upgrade, re-read each member's upstream source before changing a pin."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

sigstore = pytest.importorskip("sigstore")

ADAPTER = Path(__file__).resolve().parents[2] / "sigverify" / "crypto" / "sigstore_adapter"


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_the_tested_minor_release() -> None:
    from importlib import metadata

    assert metadata.version("sigstore").split(".")[:2] == ["4", "5"]


def test_verifier_methods_the_adapter_overrides() -> None:
    from sigstore.verify import Verifier

    assert _params(Verifier.__init__) == ["self", "trusted_root"]
    assert _params(Verifier._verify_signed_timestamp) == ["self", "timestamp_response", "message"]
    assert _params(Verifier._establish_time) == ["self", "bundle"]
    assert _params(Verifier._verify_chain_at_time) == ["self", "certificate", "timestamp_result"]
    assert _params(Verifier.verify_dsse) == ["self", "bundle", "policy"]


def test_verifier_members_the_adapter_calls() -> None:
    from sigstore.verify import Verifier

    assert _params(Verifier._verify_timestamp_authority) == ["self", "bundle"]
    assert _params(Verifier._verify_common_signing_cert) == ["self", "bundle", "policy"]
    assert _params(Verifier.verify_artifact) == ["self", "input_", "bundle", "policy"]
    assert "self._trusted_root = trusted_root" in inspect.getsource(Verifier.__init__)


def test_internal_functions_the_adapter_calls() -> None:
    from sigstore import dsse
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult
    from sigstore._internal.trust import KeyringPurpose
    from sigstore._internal.tuf import TrustUpdater

    assert _params(dsse._verify) == ["key", "evp"]
    assert _params(verify_sct) == ["cert", "chain", "ct_keyring"]
    assert _params(TimestampVerificationResult) == ["source", "time"]
    assert {"TIMESTAMP_AUTHORITY", "TRANSPARENCY_SERVICE"} <= set(TimestampSource.__members__)
    assert "VERIFY" in KeyringPurpose.__members__
    assert _params(TrustUpdater.__init__)[:3] == ["self", "url", "offline"]
    assert _params(TrustUpdater.get_trusted_root_path) == ["self"]


def test_model_members_the_adapter_calls() -> None:
    from sigstore.dsse import Envelope
    from sigstore.models import Bundle, TimestampVerificationData, TransparencyLogEntry, TrustedRoot

    assert _params(TransparencyLogEntry.__init__) == ["self", "inner"]
    assert _params(TransparencyLogEntry._verify) == ["self", "keyring"]
    assert _params(TimestampVerificationData.__init__) == ["self", "inner"]
    assert _params(Envelope.__init__) == ["self", "inner"]
    assert _params(TrustedRoot.__init__) == ["self", "inner"]
    assert _params(TrustedRoot.rekor_keyring) == ["self", "purpose"]
    assert _params(TrustedRoot.ct_keyring) == ["self", "purpose"]
    assert _params(TrustedRoot.get_timestamp_authorities) == ["self"]
    assert hasattr(Bundle, "BundleType")


def test_private_attributes_the_adapter_reads_exist_on_real_objects(vectors: Path) -> None:
    import json

    from sigstore.models import Bundle, TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    bundle = Bundle.from_json((vectors / "sigstore-python/test/assets/bundle_v3.txt.sigstore").read_bytes())
    assert bundle._inner.verification_material is not None
    assert bundle.log_entry._inner.kind_version.kind
    assert bundle.log_entry._inner.canonicalized_body
    assert bundle._dsse_envelope is None and bundle._inner.dsse_envelope is None

    from sigverify.crypto.sigstore_adapter.package import embedded_trusted_root

    path = embedded_trusted_root("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev")
    assert path is not None and path.is_file(), "sigstore-python no longer ships its trusted root in _store/"
    root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(json.loads(path.read_text()))))
    assert root._inner.ctlogs and root._inner.certificate_authorities
    ca = root._inner.certificate_authorities[0]
    assert ca.cert_chain.certificates[0].raw_bytes and hasattr(ca, "valid_for")


def test_the_pins_cover_every_private_name_the_adapter_uses() -> None:
    """Each private sigstore member the adapter names appears in this file: a new one needs a pin."""
    used: set[str] = set()
    nodes = [n for path in sorted(ADAPTER.glob("*.py")) for n in ast.walk(ast.parse(path.read_text()))]
    assert len(nodes) > 1000
    for node in nodes:
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module and "._" in node.module:
            used.add(node.module)
    own = {"_CLASS", "_ROOTS", "_ROOTS_LOCK"}
    pinned = Path(__file__).read_text()
    assert sorted(n for n in used - own if n not in pinned) == []
