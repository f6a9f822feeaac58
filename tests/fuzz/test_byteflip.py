"""Byte-flip sweep: every real vector that verifies (tests/fuzz/corpus.py) must stop verifying when any of its signed
bytes is flipped. CI runs a deterministic sample (every byte of small fields, a seeded stride over large ones);
``SIGVERIFY_FUZZ_SECONDS=N`` runs the random campaign for N seconds (tests/fuzz/README.md)."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.vectors import missing, vectors_root
from tests.fuzz.corpus import Vector, passing_vectors

SEED = 11
SMALL = 512  # fields up to this size are flipped at every byte
STRIDE_SAMPLES = 48  # positions per larger field
ARTIFACT_SAMPLES = 8  # the artifact's own bytes only change its digest: a few flips suffice
MASKS = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF)

_VECTORS: list[Vector] | None = None


def _vectors() -> list[Vector]:
    global _VECTORS
    if _VECTORS is None:
        root = vectors_root()
        _VECTORS = passing_vectors(root) if (root / "MANIFEST.md").is_file() else []
    return _VECTORS


def _names() -> list[str]:
    return [v.name for v in _vectors()] or ["<vectors missing>"]


def positions(name: str, field: str, size: int) -> Iterator[tuple[int, int]]:
    """(offset, xor mask): every byte of a small field, else a stride from a seeded start; masks seeded too."""
    rng = random.Random(f"{SEED}:{name}:{field}")
    samples = ARTIFACT_SAMPLES if field == "artifact" else STRIDE_SAMPLES
    if size <= SMALL and field != "artifact":
        offsets: range = range(size)
    else:
        step = max(1, size // samples)
        offsets = range(rng.randrange(step), size, step)
    for offset in offsets:
        yield offset, rng.choice(MASKS)


def flip(data: bytes, offset: int, mask: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def sweep(vector: Vector, stats: Counter[str]) -> list[str]:
    """Flip every sampled byte of every field; the findings (a flip that verifies with other content)."""
    findings: list[str] = []
    for field, data in vector.fields.items():
        for offset, mask in positions(vector.name, field, len(data)):
            mutated = flip(data, offset, mask)
            stats["flips"] += 1
            if not vector.verify({**vector.fields, field: mutated}):
                stats["refused"] += 1
            elif why := vector.explain(field, data, mutated):
                stats[why] += 1  # nothing verified changed (the classes: corpus.py, README.md)
            else:
                findings.append(f"{vector.name}: {field}[{offset}] ^= {mask:#04x} still verifies")
    return findings


@pytest.mark.parametrize("name", _names())
def test_every_flip_of_signed_bytes_is_refused(name: str) -> None:
    vectors = {v.name: v for v in _vectors()}
    if name not in vectors:
        missing("the shared test vectors", "Set SIGVERIFY_VECTORS or check out ../shared/vectors.")
    vector = vectors[name]
    assert vector.verify(vector.fields), f"{name} must verify untouched (the control of the sweep)"
    stats: Counter[str] = Counter()
    assert sweep(vector, stats) == []
    assert stats["flips"] > 0 and sum(stats.values()) == 2 * stats["flips"]
    assert stats["refused"] >= stats["flips"] * 0.85, stats  # an explained flip is the exception, not the rule


def test_the_sweep_covers_every_format() -> None:
    if not _vectors():
        missing("the shared test vectors", "Set SIGVERIFY_VECTORS or check out ../shared/vectors.")
    kinds = {v.name.split("-", 1)[0] for v in _vectors()}
    assert kinds == {"cosign", "conformance", "sigstore", "notation"}
    assert len(_vectors()) >= 38


def test_positions_are_deterministic_and_cover_small_fields() -> None:
    assert [o for o, _ in positions("v", "payload", 100)] == list(range(100))
    big = list(positions("v", "bundle", 10_000))
    assert big == list(positions("v", "bundle", 10_000)) and len(big) in (STRIDE_SAMPLES, STRIDE_SAMPLES + 1)
    assert len(list(positions("v", "artifact", 100))) in (ARTIFACT_SAMPLES, ARTIFACT_SAMPLES + 1)


def test_campaign() -> None:
    """The long random campaign (1-3 flips anywhere in a field): runs only with SIGVERIFY_FUZZ_SECONDS set."""
    seconds = float(os.environ.get("SIGVERIFY_FUZZ_SECONDS", "0"))
    if seconds <= 0:
        pytest.skip("set SIGVERIFY_FUZZ_SECONDS to run the campaign (tests/fuzz/README.md)")
    vectors = _vectors()
    if not vectors:
        missing("the shared test vectors", "Set SIGVERIFY_VECTORS or check out ../shared/vectors.")
    seed = int(os.environ.get("SIGVERIFY_FUZZ_SEED", str(time.time_ns())))
    rng = random.Random(seed)
    stats: Counter[str] = Counter()
    findings: list[str] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        vector = rng.choice(vectors)
        field = rng.choice(sorted(vector.fields))
        data = vector.fields[field]
        mutated = bytearray(data)
        flips = []
        for _ in range(rng.randint(1, 3)):
            offset, mask = rng.randrange(len(data)), rng.randint(1, 255)
            mutated[offset] ^= mask
            flips.append(f"[{offset}] ^= {mask:#04x}")
        stats["flips"] += 1
        if not vector.verify({**vector.fields, field: bytes(mutated)}):
            stats["refused"] += 1
        elif why := vector.explain(field, data, bytes(mutated)):
            stats[why] += 1
        else:
            findings.append(f"{vector.name}: {field}{', '.join(flips)} still verifies")
    summary = {"seed": seed, "seconds": round(time.monotonic() - started), "vectors": len(vectors), **stats,
               "findings": findings}
    report = os.environ.get("SIGVERIFY_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    assert findings == []
