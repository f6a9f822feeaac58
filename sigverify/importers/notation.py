"""notation ``trustpolicy.json`` -> a sigverify policy whose notation authority reads it (notation's own rules)."""

from __future__ import annotations

import os
from typing import Any

from sigverify.importers.common import Doc, unique_name


def default_trust_store_dir() -> str:
    """Where notation keeps its trust stores: ``$XDG_CONFIG_HOME/notation/truststore`` (Linux)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "notation", "truststore")


def convert(d: Doc, obj: dict[str, Any], taken: set[str], *, trust_store_dir: str, relative_to: str) -> None:
    """One policy for every image: the trust policy's own scopes pick the statement (``*`` as fallback), exactly
    as notation does; an image no statement covers fails."""
    statements = obj.get("trustPolicies")
    if not isinstance(statements, list) or not statements:
        d.unsupported(("trustPolicies",), "a trust policy document needs trustPolicies")
        return
    d.unknown_keys((), obj, {"version", "trustPolicies"})
    source = os.path.abspath(d.file)
    scopes = sorted({s for st in statements if isinstance(st, dict) for s in st.get("registryScopes") or []
                     if isinstance(s, str)})
    d.out.policies.append({
        "name": unique_name("notation-trust-policy", taken),
        "match": ["**"],
        "authorities": [{
            "name": "notation",
            "notation": {
                "trust_policy": _rel(source, relative_to),
                "trust_store_dir": _rel(os.path.abspath(trust_store_dir), relative_to),
            },
        }],
    })
    d.out.sources.append(f"registry scopes: {', '.join(scopes) if scopes else '(none)'}")


def _rel(path: str, base: str) -> str:
    rel = os.path.relpath(path, base)
    return path if rel.startswith("..") and os.path.isabs(path) and rel.count("..") > 2 else rel
