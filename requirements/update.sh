#!/usr/bin/env bash
# Regenerate the hash-locked requirements from pyproject.toml (uv, universal: every OS and Python >= 3.11).
#
#   requirements/update.sh            # re-resolve within the ranges in pyproject.toml, keep current pins if valid
#   requirements/update.sh --upgrade  # move every pin to the newest version the ranges allow
#
# Writes requirements/{runtime,aws,gcp,azure,vault,test,bench,build,release}.txt. Install one with
#   pip install --require-hashes --no-deps -r requirements/runtime.txt && pip install --no-deps .
# uv is installed (pinned) into ${SIGVERIFY_LOCK_VENV:-~/.cache/sigverify/tools/lock} when missing.
set -euo pipefail
UV_VERSION=0.13.9
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${SIGVERIFY_LOCK_VENV:-$HOME/.cache/sigverify/tools/lock}"
UV="$VENV/bin/uv"
if ! { [[ -x $UV ]] && [[ "$("$UV" --version)" == "uv $UV_VERSION"* ]]; }; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
cd "$REPO"
compile() {  # output, then uv arguments
  local out=$1; shift
  "$UV" pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header \
    --custom-compile-command "requirements/update.sh" "$@" -o "requirements/$out" "${EXTRA_ARGS[@]}"
  # a header naming what the file is for (uv's own header would name the machine's paths)
  { echo "# Hash-locked by requirements/update.sh from pyproject.toml ($*). Do not edit by hand."
    cat "requirements/$out"; } >"requirements/$out.tmp" && mv "requirements/$out.tmp" "requirements/$out"
}
EXTRA_ARGS=("$@")
compile runtime.txt pyproject.toml
compile aws.txt pyproject.toml --extra aws
compile gcp.txt pyproject.toml --extra gcp
compile azure.txt pyproject.toml --extra azure
compile vault.txt pyproject.toml --extra vault
# the test environment: the test tools and every key-service SDK the tests exercise
compile test.txt pyproject.toml --extra test --extra aws --extra gcp --extra azure --extra vault
compile bench.txt pyproject.toml --extra bench
# setuptools, to build sigverify itself without build isolation (pip install --no-deps --no-build-isolation .)
printf 'setuptools>=68\n' >requirements/build.in
compile build.txt requirements/build.in
# `build`, for the release workflow's sdist and wheel (python -m build --no-isolation, with build.txt)
printf 'build>=1.2,<2\n' >requirements/release.in
compile release.txt requirements/release.in
echo "requirements/update.sh: wrote $(ls requirements/*.txt | tr '\n' ' ')"
