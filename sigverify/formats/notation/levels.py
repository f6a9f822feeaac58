"""Notary Project verification levels (strict/permissive/audit/skip) and per-check overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

INTEGRITY = "integrity"
AUTHENTICITY = "authenticity"
AUTHENTIC_TIMESTAMP = "authenticTimestamp"
EXPIRY = "expiry"
REVOCATION = "revocation"

# The order in which notation runs the checks (trust-store-trust-policy.md "Signature Verification details").
CHECKS: tuple[str, ...] = (INTEGRITY, AUTHENTICITY, AUTHENTIC_TIMESTAMP, EXPIRY, REVOCATION)

ENFORCE = "enforce"
LOG = "log"
SKIP = "skip"
ACTIONS: tuple[str, ...] = (ENFORCE, LOG, SKIP)

# The specification's table: which check each preset level enforces, logs or skips.
PRESETS: Mapping[str, Mapping[str, str]] = {
    "strict": {c: ENFORCE for c in CHECKS},
    "permissive": {
        INTEGRITY: ENFORCE,
        AUTHENTICITY: ENFORCE,
        AUTHENTIC_TIMESTAMP: LOG,
        EXPIRY: LOG,
        REVOCATION: LOG,
    },
    "audit": {INTEGRITY: ENFORCE, AUTHENTICITY: LOG, AUTHENTIC_TIMESTAMP: LOG, EXPIRY: LOG, REVOCATION: LOG},
    "skip": {c: SKIP for c in CHECKS},
}

# Accepted spellings of check names in overrides (the YAML style is snake_case, notation's is camelCase).
_CHECK_ALIASES = {
    "integrity": INTEGRITY,
    "authenticity": AUTHENTICITY,
    "authenticTimestamp": AUTHENTIC_TIMESTAMP,
    "authentic_timestamp": AUTHENTIC_TIMESTAMP,
    "expiry": EXPIRY,
    "revocation": REVOCATION,
}


class LevelError(ValueError):
    """A level or override the specification does not allow (a configuration error)."""


@dataclass(frozen=True)
class Level:
    """A resolved verification level: its name and the action for every check."""

    name: str
    actions: Mapping[str, str]

    def action(self, check: str) -> str:
        return self.actions[check]

    @property
    def is_skip(self) -> bool:
        return all(a == SKIP for a in self.actions.values())


def resolve_level(name: str, overrides: Mapping[str, str] | None = None) -> Level:
    """The level ``name`` with ``overrides`` applied, with notation's rules (``GetVerificationLevel``).

    Integrity cannot be overridden; only revocation can be skipped; the ``skip`` level takes no overrides.
    """
    if name not in PRESETS:
        raise LevelError(f"unknown verification level {name!r}; expected one of {', '.join(PRESETS)}")
    actions = dict(PRESETS[name])
    if not overrides:
        return Level(name, actions)
    if name == "skip":
        raise LevelError("level 'skip' cannot be combined with overrides")
    for raw_check, action in overrides.items():
        check = _CHECK_ALIASES.get(raw_check)
        if check is None:
            raise LevelError(
                f"unknown check {raw_check!r} in overrides; expected one of "
                "authenticity, authenticTimestamp, expiry, revocation"
            )
        if action not in ACTIONS:
            raise LevelError(f"unknown action {action!r} for {raw_check!r}; expected enforce, log or skip")
        if check == INTEGRITY:
            raise LevelError("integrity cannot be overridden: it is always enforced")
        if check != REVOCATION and action == SKIP:
            raise LevelError(f"{raw_check!r} cannot be skipped (only revocation can); use 'log' instead")
        actions[check] = action
    return Level(f"{name}+overrides", actions)
