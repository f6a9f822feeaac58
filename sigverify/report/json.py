"""The JSON report: RunResult.to_dict(), stable keys, for machines and for `sigverify merge`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sigverify.models import RunResult
from sigverify.report import DIGEST_CONTRACT
from sigverify.report.safe import redacted


def part(result: RunResult) -> dict[str, Any]:
    """What whole this report is a part of: shard I/N (1/1 unsharded), config fingerprint, sigverify version."""
    index, total = (int(x) for x in (result.shard or "1/1").split("/"))
    return {
        "shard": f"{index}/{total}",
        "index": index,
        "total": total,
        "fingerprint": result.fingerprint,
        "version": result.tool_version,
    }


def document(result: RunResult) -> dict[str, Any]:
    """The report as a JSON-able dict, every URL in it redacted (JSON escapes control characters itself)."""
    d = result.to_dict()
    d["part"] = part(result)
    d["digest_contract"] = DIGEST_CONTRACT
    return redacted(d)


def render(result: RunResult) -> str:
    return json.dumps(document(result), indent=2, sort_keys=False) + "\n"


def chunks(result: RunResult) -> Iterator[str]:
    """render()'s exact text in pieces, for writing a large report without holding it whole in memory."""
    yield from json.JSONEncoder(indent=2, sort_keys=False).iterencode(document(result))
    yield "\n"
