"""Images from Kubernetes YAML (every workload kind, lists, multi-document) and compose files, with lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.sources import Declared, read_images

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def _read(text: str, tmp_path: Path, name: str = "m.yaml") -> Declared:
    f = tmp_path / name
    f.write_text(text)
    return read_images([str(f)])


def _refs(d: Declared) -> list[tuple[str, int | None]]:
    return [(i.ref, i.line) for i in d.images]


def _problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        _read(text, tmp_path)
    return [p.render() for p in exc.value.problems]


POD_SPEC = """      containers:
      - name: a
        image: reg.example/{kind}:1
"""


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("Deployment", "spec:\n  template:\n    spec:\n"),
        ("StatefulSet", "spec:\n  template:\n    spec:\n"),
        ("DaemonSet", "spec:\n  template:\n    spec:\n"),
        ("ReplicaSet", "spec:\n  template:\n    spec:\n"),
        ("Job", "spec:\n  template:\n    spec:\n"),
        ("CronJob", "spec:\n  jobTemplate:\n   spec:\n    template:\n     spec:\n"),
        ("Pod", "spec:\n"),
    ],
)
def test_every_workload_kind_yields_its_image_at_its_line(kind: str, prefix: str, tmp_path: Path) -> None:
    body = prefix + POD_SPEC.format(kind=kind.lower())
    if kind == "Pod":
        body = "spec:\n" + "\n".join(line[4:] for line in POD_SPEC.format(kind="pod").splitlines()) + "\n"
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: x}}\n{body}"
    d = _read(text, tmp_path)
    line = text.splitlines().index(next(x for x in text.splitlines() if "image:" in x)) + 1
    assert _refs(d) == [(f"reg.example/{kind.lower()}:1", line)]
    assert d.images[0].owner == f"{kind}/x container a"


def test_example_manifests_every_container_list_and_document(tmp_path: Path) -> None:
    d = read_images([str(EXAMPLES / "app.yaml")])
    assert _refs(d) == [
        ("ghcr.io/acme/migrate:2.0", 18),
        ("ghcr.io/acme/web:1.4.2", 21),
        ("ghcr.io/acme/proxy@sha256:4f0d1c3d8c0d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b", 23),
        ("ghcr.io/acme/report:0.9", 37),
    ]
    assert all(i.file == str(EXAMPLES / "app.yaml") for i in d.images)
    assert dict(d.skipped) == {"Service": 1}
    assert d.note() == "--images-from: skipped 1 document(s) or service(s) that declare no image: Service (1)"


def test_ephemeral_containers_and_lists(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers: [{name: a, image: "reg.example/a:1"}]
    ephemeralContainers:
    - name: debug
      image: reg.example/debug:1
- apiVersion: v1
  kind: ConfigMap
- apiVersion: apps/v1
  kind: DeploymentList
  items:
  - kind: Deployment
    spec: {template: {spec: {containers: [{name: b, image: reg.example/b:1}]}}}
"""
    d = _read(text, tmp_path)
    assert _refs(d) == [("reg.example/a:1", 8), ("reg.example/debug:1", 11), ("reg.example/b:1", 18)]
    assert d.images[1].owner == "Pod/p ephemeralContainer debug"
    assert dict(d.skipped) == {"ConfigMap": 1}


def test_helm_template_output_from_stdin(tmp_path: Path) -> None:
    text = """---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: rel-web
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-web
spec:
  template:
    spec:
      containers:
        - name: web
          image: "ghcr.io/acme/web:1.4.2"
          imagePullPolicy: IfNotPresent
---
"""
    d = read_images(["-"], stdin=io.StringIO(text))
    assert _refs(d) == [("ghcr.io/acme/web:1.4.2", 18)]
    assert d.images[0].file == "<stdin>"
    assert dict(d.skipped) == {"Service": 1}


def test_compose_services(tmp_path: Path) -> None:
    d = read_images([str(EXAMPLES / "compose.yaml")])
    assert _refs(d) == [("ghcr.io/acme/api:3.1", 4), ("redis:7.2", 6)]
    assert [i.owner for i in d.images] == ["compose service api", "compose service cache"]
    assert dict(d.skipped) == {"compose service built locally": 1}


def test_a_directory_is_read_in_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text("kind: Pod\nspec: {containers: [{name: a, image: reg.example/z:1}]}\n")
    (tmp_path / "a.yaml").write_text("kind: Pod\nspec: {containers: [{name: a, image: reg.example/a:1}]}\n")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    (tmp_path / ".hidden.yaml").write_text("not yaml: [")
    d = read_images([str(tmp_path)])
    found = [(i.ref, Path(i.file).name) for i in d.images]
    assert found == [("reg.example/a:1", "a.yaml"), ("reg.example/z:1", "z.yml")]


def test_unknown_documents_are_counted_not_read(tmp_path: Path) -> None:
    text = "kind: Rollout\napiVersion: argoproj.io/v1alpha1\n---\nplain: map\n---\n- a list\n---\napiVersion: v2\n"
    d = _read(text, tmp_path)
    assert d.images == ()
    assert dict(d.skipped) == {"Rollout": 1, "no kind, no services": 1, "not a map": 1, "no kind (e.g. Chart.yaml)": 1}


def test_syntax_error_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: [unclosed\n"
    (problem,) = _problems(text, tmp_path)
    assert problem.startswith(f"{tmp_path / 'm.yaml'}:6: ") and "YAML syntax error" in problem


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    text = "---\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: reg.example/a:1\n    image: reg.example/b:1\n"
    (problem,) = _problems(text, tmp_path)
    assert ":7: spec.containers[0].image: duplicate key 'image' (first written at line 6)" in problem


def test_unrendered_templates_are_refused(tmp_path: Path) -> None:
    text = 'kind: Pod\nspec:\n  containers:\n  - name: a\n    image: "{{ .Values.image }}"\n'
    (problem,) = _problems(text, tmp_path)
    assert ":5: spec.containers[0].image: Pod container a: the image is a template" in problem
    assert "helm template" in problem
    compose = "services:\n  api:\n    image: ghcr.io/acme/api:${TAG:-latest}\n"
    (problem,) = _problems(compose, tmp_path)
    assert ":3: services.api.image: compose service api: the image is a template" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: Pod\nspec:\n  containers:\n  - name: a\n", ":4: spec.containers[0].image: Pod container a has no"),
        ("kind: Deployment\nmetadata: {name: d}\nspec: {}\n", ":3: spec.template: Deployment/d has no pod spec"),
        ("kind: Pod\nspec: {initContainers: []}\n", ":2: spec.containers: Pod has no containers list"),
        ("kind: Pod\nspec: {containers: [{name: a, image: 5}]}\n", "Pod container a has no image reference"),
        ("services:\n  x: {ports: [80]}\n", ":2: services.x: compose service 'x' has neither image nor build"),
    ],
)
def test_workloads_without_images_fail_closed(text: str, expected: str, tmp_path: Path) -> None:
    problems = _problems(text, tmp_path)
    assert any(expected in p for p in problems), problems


def test_missing_paths_and_stdin_twice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        read_images([str(tmp_path / "nope.yaml"), "-", "-"], stdin=io.StringIO(""))
    assert [p.render() for p in exc.value.problems] == [
        f"{tmp_path / 'nope.yaml'}: no such file or directory",
        "<stdin>: standard input ('-') was given twice",
    ]


def test_odd_yaml_values_are_errors(tmp_path: Path) -> None:
    text = "kind: Pod\nspec:\n  containers:\n  - &a {name: a, image: reg.example/a:1}\n  - !!binary aGk=\n"
    problems = _problems(text, tmp_path)
    assert any(":5: spec.containers[1]: unsupported YAML value: binary data" in p for p in problems), problems
