"""Combine the JSON reports of sharded runs (`sigverify merge`) into one RunResult."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sigverify import __version__
from sigverify.errors import ConfigError, ConfigProblem
from sigverify.models import ImageResult, PolicyResult, Reason, RunResult, SignatureCheck, Verdict


def _reason(d: Mapping[str, Any]) -> Reason:
    return Reason(code=str(d["code"]), message=str(d["message"]), expected=d.get("expected"),
                  found=d.get("found"), policy=d.get("policy"), authority=d.get("authority"))


def _policy(d: Mapping[str, Any]) -> PolicyResult:
    return PolicyResult(policy=d["policy"], mode=d["mode"], passed=bool(d["passed"]), threshold=int(d["threshold"]),
                        verified_by=tuple(d.get("verified_by", ())),
                        reasons=tuple(_reason(r) for r in d.get("reasons", ())),
                        warnings=tuple(_reason(r) for r in d.get("warnings", ())))


def _check(d: Mapping[str, Any]) -> SignatureCheck:
    return SignatureCheck(format=d["format"], storage=d["storage"], layer_digest=d["layer"],
                          authority=d["authority"], ok=bool(d["verified"]),
                          reason=_reason(d["reason"]) if d.get("reason") else None, signer=d.get("signer"),
                          details=d.get("details") or {})


def image_from_dict(d: Mapping[str, Any]) -> ImageResult:
    source = d.get("source") or {}
    return ImageResult(
        reference=d["reference"], resolved=d.get("resolved", d["reference"]), digest=d.get("digest"),
        verdict=Verdict(d["verdict"]), policies=tuple(_policy(p) for p in d.get("policies", ())),
        reasons=tuple(_reason(r) for r in d.get("reasons", ())),
        signatures=tuple(_check(s) for s in d.get("signatures", ())),
        source_file=source.get("file"), source_line=source.get("line"), duration_ms=float(d.get("duration_ms", 0)),
    )


def merge_reports(paths: Sequence[str], *, fail_on_warn: bool = False) -> RunResult:
    """Images of every report, in report order. A report that cannot be read is a usage error (exit 2):
    a missing shard must never look like a pass."""
    images: list[ImageResult] = []
    problems: list[ConfigProblem] = []
    configs: list[str] = []
    trust_roots: list[str] = []
    fail_any = fail_on_warn
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
            if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
                raise ValueError("not a sigverify JSON report (no images list)")
            images.extend(image_from_dict(i) for i in doc["images"])
            if doc.get("config") and doc["config"] not in configs:
                configs.append(doc["config"])
            if doc.get("trust_root") and doc["trust_root"] not in trust_roots:
                trust_roots.append(doc["trust_root"])
            summary = doc.get("summary") or {}
            if summary.get("exit_code") == 1 and not any(i["verdict"] in ("fail", "error") for i in doc["images"]):
                fail_any = True  # the shard was run with --fail-on-warn
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(ConfigProblem(file=path, line=None, key=None, message=f"cannot merge: {exc}"))
    if problems:
        raise ConfigError(problems, tip="Pass the JSON reports written with --json by every shard.")
    return RunResult(images=tuple(images), config_path=", ".join(configs) or None, tool_version=__version__,
                     trust_root=", ".join(trust_roots) or None, fail_on_warn=fail_any,
                     notes=(f"merged {len(paths)} report(s)",))
