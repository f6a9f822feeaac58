"""The chain link: a leaf whose issuer *name* is the trusted root but whose signature is not the root's fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.formats.notation.chain import validate_chain
from sigverify.models import Code
from tests.notation import signer as sg
from tests.notation.test_negative import COSE, JWS, SUBJECT, assert_fails, check


@pytest.mark.parametrize("media_type", [JWS, COSE])
def test_leaf_that_only_names_the_trusted_root(tmp_path: Path, media_type: str) -> None:
    forged = sg.leaf_naming_root()
    assert forged.chain[0].issuer == forged.root.subject
    sign = sg.sign_jws if media_type == JWS else sg.sign_cose
    result = check(tmp_path, sign(forged, sg.payload(SUBJECT)), media_type, forged)
    assert_fails(result, Code.CERTIFICATE_INVALID, "is not issued by the next certificate in the chain")


def test_chain_link_checked_by_validate_chain_itself() -> None:
    from sigverify.errors import Failure

    validate_chain(sg.ca_chain().chain)  # the honest chain passes
    with pytest.raises(Failure) as err:
        validate_chain(sg.leaf_naming_root().chain)
    assert err.value.code == Code.CERTIFICATE_INVALID
    assert "is not issued by the next certificate" in err.value.message
