"""Every reason code that decides an image as an error (the registry's, a deadline's) has its own SARIF rule text."""

from __future__ import annotations

import pytest

from sigverify.evaluate import REGISTRY_CODES
from sigverify.models import Code
from sigverify.report import sarif


@pytest.mark.parametrize("code", sorted(REGISTRY_CODES | {Code.TIMEOUT, Code.THRESHOLD_NOT_MET}))
def test_code_has_its_own_rule_text(code: str) -> None:
    rule = sarif._rule(code)
    assert rule["shortDescription"]["text"] != f"Verification failed: {code}"
    assert rule["help"]["text"] != "The image did not pass verification."


def test_timeout_rule_says_it_is_not_a_pass_and_how_to_raise_the_bound() -> None:
    text = sarif._rule(Code.TIMEOUT)["help"]["text"]
    assert "did not pass" in text and "--timeout" in text


def test_threshold_rule_counts_signers() -> None:
    assert "distinct signers" in sarif._rule(Code.THRESHOLD_NOT_MET)["shortDescription"]["text"]
