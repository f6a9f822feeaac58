"""A key that cannot be loaded for a bundle is a KEY_ERROR that keeps the loader's tip (what to grant or export)."""

from __future__ import annotations

import pytest

from sigverify.formats.sigstore_bundle import authority_key
from sigverify.models import Code
from sigverify.policy.model import Authority, KeyRef, Location


def test_key_error_keeps_the_tip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGVERIFY_TEST_UNSET_KEY", raising=False)
    uri = "env://SIGVERIFY_TEST_UNSET_KEY"
    authority = Authority(name="k", location=Location("t.yaml"), key=KeyRef(source=f"kms:{uri}", kms=uri))
    key, why = authority_key(authority)
    assert key is None and why is not None
    assert why.code == Code.KEY_ERROR
    assert f"kms:{uri}" in why.message and "Tip:" in why.message and "key: {path:" in why.message
