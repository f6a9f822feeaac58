"""GitLab files and distribution files as shipped: valid under GitLab's CI schema (check-jsonschema's vendored
`vendor.gitlab-ci`), the sigverify image default pinned by digest or the release's placeholder, the catalog
release job run by gitlab-ci-local, and the licence."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci import gitlab_run, tools
from tests.ci.project import REPO_ROOT

GITLAB_FILES = [".gitlab-ci.yml", "gitlab-ci-template.yml", "examples/gitlab-ci.yml"]
IMAGE_FILES = ["gitlab-ci-template.yml", "templates/sigverify.yml", "examples/Jenkinsfile"]
MARKER = "sigverify-release: pin by digest"  # after `#` (YAML) or `//` (Groovy)
# The Apache License 2.0 text as published at https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def check_gitlab_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools.venv_tool("check-jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def interpolate_component(text: str, inputs: dict[str, Any] | None = None) -> str:
    """The component's body with `$[[ inputs.* ]]` replaced by the given values or the spec's defaults, as
    GitLab does when it includes the component."""
    spec_text, body = text.split("\n---\n", 1)
    spec = yaml.safe_load(spec_text)["spec"]["inputs"]
    values = {name: d.get("default") for name, d in spec.items()} | (inputs or {})
    missing = [n for n, v in values.items() if v is None]
    assert not missing, f"inputs without a default: {missing}"

    def value(m: re.Match[str]) -> str:
        v = values[m.group(1)]
        return str(v).lower() if isinstance(v, bool) else str(v)

    return re.sub(r"\$\[\[ inputs\.([a-z-]+) \]\]", value, body)


@pytest.mark.parametrize("name", GITLAB_FILES)
def test_gitlab_file_is_valid_under_the_gitlab_ci_schema(name: str) -> None:
    proc = check_gitlab_schema(REPO_ROOT / name)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("inputs", [None, {"shards": 8, "stage": "verify", "fail-on-warn": True}])
def test_component_is_valid_under_the_gitlab_ci_schema_once_included(
    tmp_path: Path, inputs: dict[str, Any] | None
) -> None:
    text = (REPO_ROOT / "templates" / "sigverify.yml").read_text()
    spec_file = tmp_path / "spec.yml"
    spec_file.write_text(text.split("\n---\n", 1)[0] + "\n")
    body = tmp_path / "body.yml"
    body.write_text(interpolate_component(text, inputs))
    for path in (spec_file, body):
        proc = check_gitlab_schema(path)
        assert proc.returncode == 0, path.read_text() + proc.stdout + proc.stderr
    jobs = yaml.safe_load(body.read_text())
    merge = jobs["sigverify-merge"]
    assert merge["artifacts"]["reports"]["junit"] == "sigverify-reports/merged.xml"
    assert merge["needs"] == ["sigverify"] and merge["when"] == "always"
    assert jobs["sigverify"]["parallel"] == (inputs or {}).get("shards", 1)


def test_the_schema_check_rejects_a_broken_job(tmp_path: Path) -> None:
    """The schema tests above can fail: a job with an unknown `when:` is rejected."""
    bad = tmp_path / "bad.yml"
    bad.write_text("job:\n  script: [true]\n  when: sometimes\n")
    assert check_gitlab_schema(bad).returncode != 0


def default_images() -> dict[str, str]:
    """File -> the sigverify image it runs by default (the line carrying the release marker)."""
    found = {}
    for name in IMAGE_FILES:
        lines = [ln for ln in (REPO_ROOT / name).read_text().splitlines() if MARKER in ln]
        assert len(lines) == 1, f"{name}: expected one line with {MARKER!r}, found {len(lines)}"
        m = re.search(r"""["']([^"']+)["']\s*(?:#|//)\s*""" + re.escape(MARKER), lines[0])
        assert m, f"{name}: the marker line does not quote the image: {lines[0]!r}"
        found[name] = m.group(1)
    return found


def test_default_image_is_pinned_by_digest_or_is_the_release_placeholder() -> None:
    """Released files name the image by digest; between releases they name this version's tag, which the release
    workflow replaces by `<tag>@sha256:<digest>` on the marked lines. Anything else (another version, `latest`,
    a made-up digest format) fails."""
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = default_images()
    assert len(set(images.values())) == 1, f"the files disagree on the default image: {images}"
    image = next(iter(images.values()))
    pinned = re.fullmatch(r"ghcr\.io/sigverify/sigverify:[0-9][0-9A-Za-z.+-]*@sha256:[0-9a-f]{64}", image)
    placeholder = image == f"ghcr.io/sigverify/sigverify:{version}"
    assert pinned or placeholder, image


def test_template_and_component_run_the_image_from_their_variable_and_input() -> None:
    template = yaml.safe_load((REPO_ROOT / "gitlab-ci-template.yml").read_text())
    for job in (".sigverify", ".sigverify-merge"):
        assert template[job]["image"]["name"] == "$SIGVERIFY_IMAGE"
        assert template[job]["stage"] == "test"  # one of GitLab's default stages
    body = yaml.safe_load(interpolate_component((REPO_ROOT / "templates" / "sigverify.yml").read_text()))
    for job in ("sigverify", "sigverify-merge"):
        assert body[job]["image"]["name"] == default_images()["templates/sigverify.yml"]
        assert body[job]["stage"] == "test"


def release_project(tmp_path: Path, image: str) -> Path:
    root = tmp_path / "sigverify-project"
    (root / "templates").mkdir(parents=True)
    shutil.copy(REPO_ROOT / ".gitlab-ci.yml", root / ".gitlab-ci.yml")
    text = (REPO_ROOT / "templates" / "sigverify.yml").read_text()
    current = default_images()["templates/sigverify.yml"]
    (root / "templates" / "sigverify.yml").write_text(text.replace(f'"{current}"', f'"{image}"'))
    return root


def test_release_is_refused_while_the_component_image_is_not_pinned(tmp_path: Path) -> None:
    root = release_project(tmp_path, "ghcr.io/sigverify/sigverify:1.2.3")
    proc = gitlab_run.run(root, None, "--variable", "CI_COMMIT_TAG=1.2.3", "component-pinned")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "not pinned by digest" in proc.stdout + proc.stderr


def test_release_job_runs_on_a_version_tag_with_a_pinned_component(tmp_path: Path) -> None:
    image = "ghcr.io/sigverify/sigverify:1.2.3@sha256:" + hashlib.sha256(b"test image").hexdigest()
    root = release_project(tmp_path, image)
    proc = gitlab_run.run(root, None, "--variable", "CI_COMMIT_TAG=1.2.3", "--list")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^create-release\s+release\b", proc.stdout, re.M), proc.stdout
    proc = gitlab_run.run(root, None, "--variable", "CI_COMMIT_TAG=1.2.3", "component-pinned", commit=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_job_is_not_created_for_a_prefixed_tag(tmp_path: Path) -> None:
    """The catalog takes `1.2.3`, not `v1.2.3`."""
    image = "ghcr.io/sigverify/sigverify:1.2.3@sha256:" + hashlib.sha256(b"test image").hexdigest()
    root = release_project(tmp_path, image)
    proc = gitlab_run.run(root, None, "--variable", "CI_COMMIT_TAG=v1.2.3", "--list")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not re.search(r"^create-release\s", proc.stdout, re.M), proc.stdout


def test_licence_is_the_apache_2_text_pyproject_names() -> None:
    assert hashlib.sha256((REPO_ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] in ({"text": "Apache-2.0"}, "Apache-2.0")


def test_component_and_template_merge_with_the_same_script() -> None:
    """One merge check, one spelling: the component's merge job runs the template's `.sigverify-merge` script."""
    template = yaml.safe_load((REPO_ROOT / "gitlab-ci-template.yml").read_text())
    body = yaml.safe_load(interpolate_component((REPO_ROOT / "templates" / "sigverify.yml").read_text()))
    assert body["sigverify-merge"]["script"] == template[".sigverify-merge"]["script"]
    assert body["sigverify-merge"]["artifacts"] == template[".sigverify-merge"]["artifacts"]
