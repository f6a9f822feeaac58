"""Other tools' policies as a sigverify config: policy-controller, Kyverno, notation trustpolicy.json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from sigverify.errors import ConfigError
from sigverify.importers import kyverno, notation, policycontroller
from sigverify.importers.common import Doc, Finding, Imported
from sigverify.policy.loader import load_config_text
from sigverify.policy.model import Config
from sigverify.sources.yamlstream import documents

__all__ = ["Finding", "Imported", "import_text", "render"]

_KYVERNO_KINDS = ("ClusterPolicy", "Policy")


def import_text(text: str, filename: str, *, trust_store_dir: str | None = None, relative_to: str = ".") -> Imported:
    """Convert every document of ``text``. Raises ConfigError for YAML/JSON that cannot be read (exit 2);
    fields that cannot be carried over are findings (blocking ones mean exit 2)."""
    out = Imported()
    taken: set[str] = set()
    problems = []
    for doc, doc_problems in documents(text.removeprefix("\ufeff"), filename):
        problems.extend(doc_problems)
        if doc is None or doc_problems or doc.data is None:
            continue
        d = Doc(doc, filename, out)
        data = doc.data
        if not isinstance(data, dict):
            d.unsupported((), "a document that is not a map")
            continue
        kind, api = data.get("kind"), str(data.get("apiVersion", ""))
        if kind == "ClusterImagePolicy" and api.startswith("policy.sigstore.dev/"):
            policycontroller.convert(d, data, taken)
            out.sources.append(f"ClusterImagePolicy {_name(data)}")
        elif kind in _KYVERNO_KINDS and api.startswith("kyverno.io/"):
            kyverno.convert(d, data, taken)
            out.sources.append(f"Kyverno {kind} {_name(data)}")
        elif "trustPolicies" in data and "kind" not in data:
            notation.convert(d, data, taken, trust_store_dir=trust_store_dir or notation.default_trust_store_dir(),
                             relative_to=relative_to)
        elif kind == "List" and isinstance(data.get("items"), list):
            d.unsupported(("items",), "a List: import its items as separate YAML documents (---)")
        else:
            d.unsupported(("kind",), f"not a policy sigverify can import (kind {kind!r}, apiVersion {api!r})",
                          tip="ClusterImagePolicy (policy.sigstore.dev), ClusterPolicy/Policy (kyverno.io) or a "
                          "notation trustpolicy.json")
    if problems:
        raise ConfigError(problems, tip="The file must be YAML (or JSON); nothing was imported.")
    return out


def _name(data: dict[str, Any]) -> str:
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else "(unnamed)"


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(imported: Imported, source: str) -> str:
    """The config text: a header naming the source and everything not carried over, then the policies."""
    lines = [f"# Imported by `sigverify import` from {source}."]
    lines += [f"# Source: {s}" for s in imported.sources]
    left = [f for f in imported.findings if not f.blocking]
    if left:
        lines.append("# Not carried over (they apply to admission in the cluster only):")
        lines += [f"#   line {f.line}: {f.path}: {f.message}" if f.line else f"#   {f.path}: {f.message}" for f in left]
    lines = [_comment(line) for line in lines]
    body = yaml.dump({"version": 1, "policies": imported.policies}, Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, width=100, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


def _comment(text: str) -> str:
    """One comment line, whatever the source held: control and line-breaking characters are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_loads(text: str, output_dir: str) -> Config:
    """The generated config must load through sigverify's own loader (raises ConfigError when it does not)."""
    return load_config_text(text, filename="<imported config>", base_dir=Path(os.path.abspath(output_dir)))
