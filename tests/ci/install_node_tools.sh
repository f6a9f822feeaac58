#!/usr/bin/env bash
# Install gitlab-ci-local (pinned; 4.75.1 crashes on Node 20) into the tool cache, for the GitLab template tests.
set -euo pipefail
CACHE=${SIGVERIFY_TOOL_CACHE:-$HOME/.cache/sigverify}
VERSION=4.73.0
prefix="$CACHE/gitlab-ci-local"
bin="$prefix/node_modules/.bin/gitlab-ci-local"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "gitlab-ci-local $VERSION: cached"
  exit 0
fi
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "gitlab-ci-local@$VERSION"
"$bin" --version
