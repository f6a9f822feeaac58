"""Hypothesis profiles: ``ci`` (the default: deterministic, no example database, a few minutes on one core) and
``long`` (HYPOTHESIS_PROFILE=long: 40 times the examples, random seeds, for campaigns)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # time is bounded by counters in the properties, never by a wall clock (bench/ measures)
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                              HealthCheck.filter_too_much],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("long", derandomize=False, database=None, **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
