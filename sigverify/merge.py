"""Combine the JSON reports of sharded runs (`sigverify merge`) into one RunResult, failing closed on gaps."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sigverify import __version__
from sigverify.crypto.strictjson import loads_strict
from sigverify.errors import ConfigError, ConfigProblem
from sigverify.models import Code, ImageResult, LintNote, PolicyResult, Reason, RunResult, SignatureCheck, Verdict

if TYPE_CHECKING:
    from sigverify.gate import Target
    from sigverify.policy.model import Config

# ---------------------------------------------------------------------------------------------------------------
# The config fingerprint every report carries
# ---------------------------------------------------------------------------------------------------------------

MAX_REPORT_BYTES = 256 * 1024 * 1024  # one shard's JSON report (a 10,000-image report is a few MiB)
_SKIP_FIELDS = frozenset({"location", "compiled"})  # where a value was written; what is derived from another
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _canonical(obj: Any, subs: Sequence[tuple[str, str]]) -> Any:
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value, subs)
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, str):
        for prefix, replacement in subs:
            obj = obj.replace(prefix, replacement)
        return obj
    if isinstance(obj, bytes):
        return {"sha256": hashlib.sha256(obj).hexdigest()}
    if isinstance(obj, re.Pattern):
        return {"regexp": obj.pattern}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: _canonical(getattr(obj, f.name), subs) for f in dataclasses.fields(obj)
                  if f.name not in _SKIP_FIELDS}
        return {"type": type(obj).__name__, **fields}
    if isinstance(obj, Mapping):
        return {str(_canonical(k, subs)): _canonical(v, subs) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_canonical(x, subs) for x in obj]
        return sorted(items, key=json.dumps) if isinstance(obj, set | frozenset) else items
    return _ADDRESS.sub("", repr(obj))


def fingerprint(config: Config, targets: Sequence[Target]) -> str:
    """``sha256:<hex>`` of the config's canonical content (policies, authorities and their key material,
    registries, default, trust root, files) and the full image list before sharding.

    Absolute paths under the config's directory or the working directory are written relative to them, so
    shard jobs that check the repository out in different directories still agree.
    """
    config_dir = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    dirs = {d for d in (config_dir, os.getcwd()) if os.path.dirname(d) != d}  # never the root directory
    subs = sorted(((d + os.sep, "./") for d in dirs), key=lambda s: -len(s[0]))
    doc = {
        "config": {k: v for k, v in _canonical(config, subs).items() if k not in ("path", "images")},
        "images": [_canonical(str(t.ref), subs) for t in targets],
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Reading reports back
# ---------------------------------------------------------------------------------------------------------------


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
        platform=d.get("platform"), platforms=tuple(image_from_dict(p) for p in d.get("platforms", ())),
    )


def _lint(d: Mapping[str, Any]) -> LintNote:
    line = d.get("line")
    if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
        raise ValueError(f"lint warning {d.get('code')!r}: line is not a number")
    return LintNote(code=str(d["code"]), message=str(d["message"]), fix=str(d["fix"]), file=str(d["file"]),
                    line=line, where=str(d.get("where") or ""))


@dataclasses.dataclass(frozen=True)
class _Part:
    path: str
    index: int
    total: int
    fingerprint: str
    version: str


def _part(path: str, doc: Mapping[str, Any]) -> _Part | Reason:
    part = doc.get("part")
    if not isinstance(part, dict):
        return Reason(Code.SHARD_MISMATCH, f"{path} does not say what run it is a part of (no `part`)",
                      expected="a JSON report written by `sigverify verify --json` of this version",
                      found="a report without shard, config fingerprint and version")
    index, total, fp, version = part.get("index"), part.get("total"), part.get("fingerprint"), part.get("version")
    if not (isinstance(index, int) and isinstance(total, int) and not isinstance(index, bool)
            and not isinstance(total, bool) and 1 <= index <= total):
        return Reason(Code.SHARD_MISMATCH, f"{path}: invalid shard in `part`", expected="1 <= I <= N",
                      found=f"{index!r}/{total!r}")
    if not isinstance(fp, str) or not fp or not isinstance(version, str) or not version:
        return Reason(Code.SHARD_MISMATCH, f"{path}: no config fingerprint or sigverify version in `part`",
                      expected="part.fingerprint and part.version", found=json.dumps(part)[:200])
    return _Part(path, index, total, fp, version)


def _missing(index: int, total: int) -> tuple[str, Reason]:
    return (f"shard {index}/{total}", Reason(
        Code.SHARD_MISSING, f"no report for shard {index} of {total}: its images were not verified",
        expected=f"one report with shard {index}/{total}", found="none"))


def _check_parts(parts: list[_Part], expect_shards: int | None) -> list[tuple[str, Reason]]:
    """(label, reason) for every way ``parts`` fail to be exactly one report per shard of one run."""
    problems: list[tuple[str, Reason]] = []
    if not parts:
        return problems
    totals = sorted({p.total for p in parts})
    fingerprints = sorted({p.fingerprint for p in parts})
    versions = sorted({p.version for p in parts})
    if len(totals) > 1:
        problems.append(("shard count", Reason(
            Code.SHARD_MISMATCH, "the reports come from runs split into different numbers of shards",
            expected="one N for every report", found=", ".join(f"{p.path}: {p.index}/{p.total}" for p in parts))))
    if expect_shards is not None and totals != [expect_shards]:
        problems.append(("shard count", Reason(
            Code.SHARD_MISMATCH, f"expected the reports of {expect_shards} shard(s) (--expect-shards)",
            expected=f"N = {expect_shards}", found="N = " + ", ".join(str(t) for t in totals))))
    if len(fingerprints) > 1:
        problems.append(("config fingerprint", Reason(
            Code.SHARD_MISMATCH, "the reports were made with different configurations or image lists",
            expected="one config fingerprint",
            found=", ".join(f"{p.path}: {p.fingerprint[:19]}" for p in parts))))
    if len(versions) > 1:
        problems.append(("sigverify version", Reason(
            Code.SHARD_MISMATCH, "the reports were made by different sigverify versions",
            expected="one version", found=", ".join(f"{p.path}: {p.version}" for p in parts))))
    total = expect_shards if expect_shards is not None else totals[-1]
    by_index: dict[int, list[_Part]] = {}
    for p in parts:
        by_index.setdefault(p.index, []).append(p)
    for i in range(1, max(total, *by_index) + 1):
        held = by_index.get(i, [])
        if not held and i <= total:
            problems.append(_missing(i, total))
        elif len(held) > 1:
            problems.append((f"shard {i}/{total}", Reason(
                Code.SHARD_DUPLICATE, f"{len(held)} reports for shard {i} of {total}",
                expected="exactly one report per shard", found=", ".join(p.path for p in held))))
    return problems


def _problem_image(label: str, reason: Reason) -> ImageResult:
    name = f"merge: {label}"
    return ImageResult(reference=name, resolved=name, digest=None, verdict=Verdict.ERROR, reasons=(reason,))


def merge_reports(paths: Sequence[str], *, fail_on_warn: bool = False,
                  expect_shards: int | None = None) -> RunResult:
    """Images of every report, in report order, when they are exactly one report per shard I of one N with one
    config fingerprint and one sigverify version. Otherwise every gap, duplicate and mismatch is an ``error``
    entry with a SHARD_* reason (exit 1). A report that cannot be read is a usage error (exit 2)."""
    images: list[ImageResult] = []
    problems: list[ConfigProblem] = []
    configs: list[str] = []
    trust_roots: list[str] = []
    parts: list[_Part] = []
    unmarked: list[tuple[str, Reason]] = []
    lint: dict[LintNote, None] = {}  # every shard of a run carries the same warnings: kept once, in order
    fail_any = fail_on_warn
    for path in paths:
        try:
            with open(path, "rb") as fh:  # the bounded strict reader: a hostile report is a bad input, not a crash
                doc = loads_strict(fh.read(MAX_REPORT_BYTES + 1), what="the report", max_bytes=MAX_REPORT_BYTES)
            if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
                raise ValueError("not a sigverify JSON report (no images list)")
            images.extend(image_from_dict(i) for i in doc["images"])
            lint.update(dict.fromkeys(_lint(w) for w in doc.get("lint") or ()))
            part = _part(path, doc)
            if isinstance(part, Reason):
                unmarked.append((path, part))
            else:
                parts.append(part)
            if doc.get("config") and doc["config"] not in configs:
                configs.append(doc["config"])
            if doc.get("trust_root") and doc["trust_root"] not in trust_roots:
                trust_roots.append(doc["trust_root"])
            summary = doc.get("summary") or {}
            if summary.get("exit_code") == 1 and not any(i["verdict"] in ("fail", "error") for i in doc["images"]):
                fail_any = True  # the shard was run with --fail-on-warn
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(ConfigProblem(file=path, line=None, key=None, message=f"cannot merge: {exc}"))
    if problems:
        raise ConfigError(problems, tip="Pass the JSON reports written with --json by every shard.")
    if not paths and expect_shards is None:
        raise ConfigError("no reports to merge", tip="Pass the JSON report of every shard (or --expect-shards N).")
    gaps = unmarked + _check_parts(parts, expect_shards)
    if not paths and expect_shards is not None:
        gaps = [_missing(i, expect_shards) for i in range(1, expect_shards + 1)]
    fingerprints = {p.fingerprint for p in parts}
    n = len({(p.index, p.total) for p in parts})
    notes = [f"merged {len(paths)} report(s)"]
    if not gaps and parts:
        notes = [f"merged {n} shard(s) of {parts[0].total}, config fingerprint {parts[0].fingerprint}"]
    elif gaps:
        notes.append("the reports do not make up one whole run: "
                     + ", ".join(sorted({r.code for _, r in gaps})))
    return RunResult(images=tuple([_problem_image(label, r) for label, r in gaps] + images),
                     config_path=", ".join(configs) or None, tool_version=__version__,
                     trust_root=", ".join(trust_roots) or None, fail_on_warn=fail_any, notes=tuple(notes),
                     lint=tuple(lint), fingerprint=fingerprints.pop() if len(fingerprints) == 1 and not gaps else None)
