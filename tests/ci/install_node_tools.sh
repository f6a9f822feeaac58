#!/usr/bin/env bash
# Install the Node CI tools the tests use (pinned) into the tool cache, not globally; tests/ci/tools.py finds them.
#   gitlab-ci-local 4.73.0  runs GitLab jobs locally (4.75.1 crashes on Node 20: `kW.union is not a function`);
#                           it needs rsync (apt).
#   npm-groovy-lint 15.2.2  lints Jenkinsfiles (CodeNarc; needs a Java runtime, `java` on PATH).
# Idempotent: a tool already installed at its pinned version is left alone.
set -euo pipefail
CACHE=${SIGVERIFY_TOOL_CACHE:-$HOME/.cache/sigverify}

install() {  # install <cache dir> <package> <version>
  local prefix=$CACHE/$1 pkg=$2 version=$3
  if [ "$(node -p "require('$prefix/node_modules/$pkg/package.json').version" 2>/dev/null)" = "$version" ]; then
    echo "$pkg $version: cached under $prefix"
    return 0
  fi
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent "$pkg@$version"
  echo "$pkg $version installed under $prefix"
}

command -v rsync >/dev/null || echo "warning: rsync is missing (apt-get install -y rsync); gitlab-ci-local needs it" >&2
command -v java >/dev/null || echo "warning: java is missing; npm-groovy-lint needs a Java runtime" >&2
install gitlab-ci-local gitlab-ci-local 4.73.0
install npm-groovy-lint npm-groovy-lint 15.2.2
