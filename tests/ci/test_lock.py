"""requirements/*.txt: every pin satisfies pyproject.toml, carries hashes, and installs with --require-hashes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ci.project import REPO_ROOT

REQ = REPO_ROOT / "requirements"
# lock file -> the pyproject.toml extras it holds (besides the runtime dependencies)
LOCKS = {
    "runtime.txt": (),
    "aws.txt": ("aws",),
    "gcp.txt": ("gcp",),
    "azure.txt": ("azure",),
    "vault.txt": ("vault",),
    "test.txt": ("test", "aws", "gcp", "azure", "vault"),
    "bench.txt": ("bench",),
}
PIP_CACHE = Path(os.environ.get("SIGVERIFY_PIP_CACHE", Path.home() / ".cache" / "sigverify" / "pip"))


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str
    hashes: tuple[str, ...]


def read_lock(path: Path) -> dict[str, list[Pin]]:
    """``name==version [; marker]`` entries with their ``--hash=sha256:...`` continuation lines.

    A universal lock may pin a package twice, for disjoint Python versions: then every pin carries a marker.
    """
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    pins: dict[str, list[Pin]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+?)\s*(?:;\s*(.*?))?\s*((?:--hash=sha256:[0-9a-f]{64}\s*)*)", line)
        assert m, f"{path.name}: not a hashed pin: {line[:120]!r}"
        name = canonicalize_name(m.group(1))
        pin = Pin(name, m.group(2), m.group(3) or "", tuple(re.findall(r"sha256:([0-9a-f]{64})", m.group(4))))
        same = pins.setdefault(name, [])
        assert not same or (pin.marker and all(p.marker for p in same)), f"{path.name}: {name} pinned twice"
        same.append(pin)
    return pins


def requirements_of(pyproject: dict[str, object], extras: tuple[str, ...]) -> list[Requirement]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def problems(lock: dict[str, list[Pin]], reqs: list[Requirement]) -> list[str]:
    """What in ``lock`` fails ``reqs``: a missing or out-of-range package, a pin without hashes."""
    out = []
    for req in reqs:
        pins = lock.get(canonicalize_name(req.name))
        if not pins:
            out.append(f"{req.name}: not in the lock")
        for pin in pins or []:
            if not req.specifier.contains(pin.version, prereleases=True):
                out.append(f"{req.name}: locked {pin.version}, pyproject.toml wants {req.specifier}")
    out += [f"{p.name}: no hashes" for same in lock.values() for p in same if not p.hashes]
    return out


def for_this_python(lock: dict[str, list[Pin]]) -> dict[str, str]:
    """name -> version that pip installs from ``lock`` for the running Python."""
    return {n: p.version for n, same in lock.items() for p in same if not p.marker or Marker(p.marker).evaluate()}


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_lock_satisfies_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    pins = read_lock(REQ / lock)
    assert problems(pins, requirements_of(pyproject(), extras)) == []
    assert "sigverify" not in pins  # the package itself is installed from the source, --no-deps


def test_locks_agree_with_each_other() -> None:
    """One version of a package everywhere: the extras' locks extend the runtime lock, never move its pins."""
    runtime = read_lock(REQ / "runtime.txt")
    for lock in LOCKS:
        other = read_lock(REQ / lock)
        moved = {n: (p.version, other[n].version) for n, p in runtime.items() if n not in other or other[n] != p}
        assert moved == {}, lock


def test_every_extra_has_a_lock() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    locked = {extra for extras in LOCKS.values() for extra in extras}
    assert set(project["optional-dependencies"]) == locked


def test_sigstore_pin_is_the_tested_minor() -> None:
    ((pin,),) = [read_lock(REQ / "runtime.txt")["sigstore"]]
    assert pin.version.startswith("4.5.")


def test_build_lock_has_setuptools() -> None:
    assert set(read_lock(REQ / "build.txt")) == {"setuptools"}


def test_check_finds_an_out_of_range_pin_and_a_missing_hash(tmp_path: Path) -> None:
    pins = read_lock(REQ / "runtime.txt")
    doc = pyproject()
    project = doc["project"]
    assert isinstance(project, dict)
    project["dependencies"] = [*project["dependencies"], "sigstore>=9", "not-a-locked-package>=1"]
    pins["pyyaml"] = [Pin("pyyaml", pins["pyyaml"][0].version, "", ())]
    found = problems(pins, requirements_of(doc, ()))
    assert any(p.startswith("sigstore: locked 4.5.") and ">=9" in p for p in found)
    assert "not-a-locked-package: not in the lock" in found and "pyyaml: no hashes" in found
    bad = tmp_path / "bad.txt"
    bad.write_text("requests>=2\n")
    with pytest.raises(AssertionError, match="not a hashed pin"):
        read_lock(bad)


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_CACHE_DIR": str(PIP_CACHE), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=900, env=env, check=False
    )


def test_runtime_lock_installs_with_require_hashes_into_a_fresh_venv(tmp_path: Path) -> None:
    """What the action and the Dockerfile do: the lock with --require-hashes --no-deps, then sigverify --no-deps."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    proc = _pip(python, "install", "--require-hashes", "--no-deps", "--only-binary", ":all:",
                "-r", str(REQ / "runtime.txt"), "-r", str(REQ / "build.txt"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "sigverify", src / "sigverify", ignore=shutil.ignore_patterns("__pycache__"))
    proc = _pip(python, "install", "--no-deps", "--no-build-isolation", "--no-index", str(src))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    check = _pip(python, "check")
    assert check.returncode == 0, check.stdout  # the lock is complete: nothing sigverify needs is missing
    version = subprocess.run([str(python), "-I", "-m", "sigverify", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("sigverify "), version.stderr
    frozen = _pip(python, "freeze", "--all").stdout
    installed = {canonicalize_name(ln.split("==")[0]): ln.split("==")[1] for ln in frozen.splitlines() if "==" in ln}
    locked = for_this_python({**read_lock(REQ / "runtime.txt"), **read_lock(REQ / "build.txt")})
    assert {n: v for n, v in locked.items() if n in installed} == {n: v for n, v in installed.items() if n in locked}
    assert set(locked) <= set(installed)
    assert set(installed) - set(locked) <= {"pip", "sigverify"}


def test_a_tampered_hash_is_refused(tmp_path: Path) -> None:
    """--require-hashes is real: one wrong hash and pip installs nothing."""
    (pin,) = read_lock(REQ / "runtime.txt")["pyyaml"]
    bad = tmp_path / "bad.txt"
    bad.write_text(f"pyyaml=={pin.version} --hash=sha256:{'0' * 64}\n")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    proc = _pip(env_dir / "bin" / "python", "install", "--require-hashes", "--no-deps", "-r", str(bad))
    assert proc.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stderr, proc.stderr[-2000:]
