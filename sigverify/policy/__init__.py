"""Configuration: load and validate the YAML policy file into typed objects (see model.py)."""

from __future__ import annotations

from sigverify.policy.claims import CLAIM_OIDS, claim_label, claim_oid
from sigverify.policy.globs import PatternError, compile_glob, glob_matcher, normalise_glob, regexp_matcher
from sigverify.policy.loader import load_config, load_config_text

__all__ = [
    "CLAIM_OIDS",
    "PatternError",
    "claim_label",
    "claim_oid",
    "compile_glob",
    "glob_matcher",
    "load_config",
    "load_config_text",
    "normalise_glob",
    "regexp_matcher",
]
