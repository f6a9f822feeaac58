"""The JSON report: RunResult.to_dict(), stable keys, for machines and for `sigverify merge`."""

from __future__ import annotations

import json

from sigverify.models import RunResult


def render(result: RunResult) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
