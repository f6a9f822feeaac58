"""Images declared in Kubernetes objects (workloads, pods, lists) and compose files, each with its line."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sigverify.errors import ConfigProblem
from sigverify.policy.yamlstrict import KeyPath, YamlDoc, format_path

# kind -> path of the pod spec inside the object
POD_SPEC_PATHS: dict[str, KeyPath] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
MAX_LIST_DEPTH = 8
_INTERPOLATION = re.compile(r"\$\{?[A-Za-z_]|\{\{")


@dataclass(frozen=True)
class DeclaredImage:
    """One image reference as written in a manifest, with where it was written and what declared it."""

    ref: str
    file: str
    line: int | None
    owner: str  # e.g. "Deployment/web container app", "compose service api"


@dataclass
class Extracted:
    """What one file yielded: images, problems (exit 2), and documents skipped by kind."""

    images: list[DeclaredImage] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def extract(doc: YamlDoc, filename: str, out: Extracted) -> None:
    """Add the images of one YAML document (a Kubernetes object or list, or a compose file) to ``out``."""
    data = doc.data
    if data is None:
        return  # an empty document ('---' alone) is nothing, not an unknown document
    if not isinstance(data, dict):
        out.skipped["not a map"] += 1
        return
    if "kind" in data or "apiVersion" in data:
        _kubernetes(doc, data, (), filename, out, 0)
    elif isinstance(data.get("services"), dict):
        _compose(doc, data["services"], filename, out)
    else:
        out.skipped["no kind, no services"] += 1


def _problem(out: Extracted, doc: YamlDoc, filename: str, path: KeyPath, message: str, **kw: str) -> None:
    out.problems.append(ConfigProblem(filename, doc.line(path), format_path(path) if path else None, message, **kw))


def _kubernetes(doc: YamlDoc, obj: dict[str, Any], path: KeyPath, filename: str, out: Extracted, depth: int) -> None:
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        out.skipped["no kind (e.g. Chart.yaml)"] += 1  # not an object kubectl would accept, so no workload
        return
    if kind == "List" or (kind.endswith("List") and isinstance(obj.get("items"), list)):
        items = obj.get("items")
        if not isinstance(items, list):
            _problem(out, doc, filename, (*path, "items"), f"a {kind} without an items list")
            return
        if depth >= MAX_LIST_DEPTH:
            _problem(out, doc, filename, path, f"lists nested more than {MAX_LIST_DEPTH} deep")
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _kubernetes(doc, item, (*path, "items", i), filename, out, depth + 1)
            else:
                _problem(out, doc, filename, (*path, "items", i), "a list item that is not an object")
        return
    spec_path = POD_SPEC_PATHS.get(kind)
    if spec_path is None:
        out.skipped[kind] += 1
        return
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    owner = f"{kind}/{name}" if isinstance(name, str) else kind
    spec: Any = obj
    walked: KeyPath = path
    for part in spec_path:
        walked = (*walked, part)
        spec = spec.get(part) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            _problem(out, doc, filename, walked, f"{owner} has no pod spec at {format_path(spec_path)}",
                     expected="a map with containers")
            return
    if not isinstance(spec.get("containers"), list):
        _problem(out, doc, filename, (*walked, "containers"), f"{owner} has no containers list",
                 expected="containers: [{name: ..., image: ...}]")
        return
    for list_name in CONTAINER_LISTS:
        containers = spec.get(list_name)
        if containers is None:
            continue
        lpath = (*walked, list_name)
        if not isinstance(containers, list):
            _problem(out, doc, filename, lpath, f"{list_name} must be a list")
            continue
        for i, container in enumerate(containers):
            cpath = (*lpath, i)
            cname = container.get("name") if isinstance(container, dict) else None
            label = f"{owner} {list_name[:-1]} {cname}" if isinstance(cname, str) else f"{owner} {list_name}[{i}]"
            image = container.get("image") if isinstance(container, dict) else None
            _image(out, doc, filename, (*cpath, "image"), image, label, "the rendered manifests (helm template, "
                   "kustomize build) rather than the templates")


def _compose(doc: YamlDoc, services: dict[str, Any], filename: str, out: Extracted) -> None:
    for name, service in services.items():
        spath: KeyPath = ("services", name)
        if not isinstance(service, dict):
            _problem(out, doc, filename, spath, f"compose service {name!r} is not a map")
            continue
        if "image" not in service:
            if "build" in service:
                out.skipped["compose service built locally"] += 1
                continue
            _problem(out, doc, filename, spath, f"compose service {name!r} has neither image nor build")
            continue
        _image(out, doc, filename, (*spath, "image"), service["image"], f"compose service {name}",
               "the resolved file (docker compose config) rather than one with variables")


def _image(out: Extracted, doc: YamlDoc, filename: str, path: KeyPath, image: object, owner: str, render: str) -> None:
    if not isinstance(image, str) or not image.strip():
        found = "nothing" if image is None else "an empty string" if isinstance(image, str) else type(image).__name__
        _problem(out, doc, filename, path, f"{owner} has no image reference", expected="image: registry/repo:tag",
                 found=found)
        return
    if _INTERPOLATION.search(image):
        _problem(out, doc, filename, path, f"{owner}: the image is a template, not a reference; give sigverify "
                 f"{render}", found=image)
        return
    out.images.append(DeclaredImage(image.strip(), filename, doc.line(path), owner))
