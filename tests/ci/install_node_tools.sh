#!/usr/bin/env bash
# Install gitlab-ci-local (pinned) into the tool cache, not globally; tests/ci/tools.py finds it there.
# 4.73.0 runs on Node 20 (4.75.1 crashes: `kW.union is not a function`). It needs rsync (apt).
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
VERSION=4.73.0
PREFIX=${SIGVERIFY_TOOL_CACHE:-$HOME/.cache/sigverify}/gitlab-ci-local
BIN=$PREFIX/node_modules/.bin/gitlab-ci-local
if [ -x "$BIN" ] && [ "$(node -p "require('$PREFIX/node_modules/gitlab-ci-local/package.json').version" 2>/dev/null)" = "$VERSION" ]; then
  echo "gitlab-ci-local $VERSION: cached at $BIN"
  exit 0
fi
command -v rsync >/dev/null || echo "warning: rsync is missing (apt-get install -y rsync); gitlab-ci-local needs it" >&2
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --silent "gitlab-ci-local@$VERSION"
echo "gitlab-ci-local $VERSION installed at $BIN"
