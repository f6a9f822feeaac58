#!/usr/bin/env bash
# Build the real peer tools (cosign v2/v3, notation, crane, a referrers-API registry, actionlint, act, kustomize) from
# source, pinned, into a version-keyed cache. Needs Go and the Go module proxy only. Idempotent: a pinned version already
# built is not rebuilt.
#
#   tests/peers/install.sh              # build what is missing, print what it did
#   SIGVERIFY_PEERS_DIR=/x tests/peers/install.sh
#   SIGVERIFY_PEERS_JOBS=1 tests/peers/install.sh   # parallel builds (default 2)
#
# Result: ${SIGVERIFY_PEERS_DIR:-$HOME/.cache/sigverify/peers}/bin/{cosign2,cosign3,notation,crane,refregistry,actionlint,act,kustomize}
# (symlinks to <name>-<version>). tests/fixtures/peers.py finds them there or on PATH.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

PEERS_DIR="${SIGVERIFY_PEERS_DIR:-$HOME/.cache/sigverify/peers}"
BIN="$PEERS_DIR/bin"
LOGS="$PEERS_DIR/logs"
JOBS="${SIGVERIFY_PEERS_JOBS:-2}"

# name | module | package in the module | version   (pins: change here only)
PEERS=(
  "cosign2|github.com/sigstore/cosign/v2|cmd/cosign|v2.6.3"
  "cosign3|github.com/sigstore/cosign/v3|cmd/cosign|v3.0.6"
  "notation|github.com/notaryproject/notation|cmd/notation|v1.3.2"
  "crane|github.com/google/go-containerregistry|cmd/crane|v0.20.6"
  # the referrers-API registry: tests/peers/refregistry (go-containerregistry pkg/registry v0.20.6, see its
  # main.go); the distribution registry v3.0.0/v3.1.x has no referrers API, so it is not used. Version = hash.
  "refregistry|./tests/peers/refregistry|.|local"
  "actionlint|github.com/rhysd/actionlint|cmd/actionlint|v1.7.12"   # for the CI-config tests
  "act|github.com/nektos/act|.|v0.2.89"   # runs the GitHub composite action's test workflow (tests/ci/test_act.py)
  "kustomize|sigs.k8s.io/kustomize/kustomize/v5|.|v5.4.3"   # renders kustomizations (tests/sources/test_kustomize.py)
)

if ! command -v go >/dev/null 2>&1; then
  echo "install.sh: Go is not installed (expected 'go' on PATH). Tip: install Go >= 1.24 first." >&2
  exit 1
fi

mkdir -p "$BIN" "$LOGS"
export GOFLAGS="${GOFLAGS:--trimpath}"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

start=$(date +%s)
echo "install.sh: peers dir $PEERS_DIR ($(go version | cut -d' ' -f3), GOFLAGS=$GOFLAGS CGO_ENABLED=$CGO_ENABLED, jobs=$JOBS)"

build_one() {  # name module subpkg version
  local name=$1 module=$2 subpkg=$3 version=$4
  local target="$BIN/$name-$version"
  local tmp="$PEERS_DIR/tmp/$name-$version"
  local log="$LOGS/$name-$version.log"
  local pkg="$module/$subpkg"; [[ $subpkg == . ]] && pkg=$module  # the module's root package (act)
  local t0; t0=$(date +%s)
  rm -rf "$tmp"; mkdir -p "$tmp"
  if [[ $module == ./* ]]; then  # a small module kept in this repository (go.sum pinned there)
    if ! (cd "$REPO/$module" && GOWORK=off go build -o "$tmp/$name" "./$subpkg") >"$log" 2>&1; then
      echo "  FAILED $name (log: $log):" >&2; tail -n 20 "$log" >&2; return 1
    fi
  elif ! GOBIN="$tmp" go install "$pkg@$version" >"$log" 2>&1; then
    # `go install pkg@version` also asks the proxy for the module's version list (deprecation check); the
    # proxy answers 403 for some modules (notation). Fetch the pinned version directly and build it in place,
    # with its own go.mod/go.sum (same result as go install, minus that check).
    echo "  note   $name: go install failed ($(grep -m1 -o '[0-9]\{3\} [A-Za-z ]*' "$log" || echo see log)); building from the module zip" >&2
    local dir
    if ! dir=$(go mod download -json "$module@$version" 2>>"$log" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
       || [[ -z "$dir" ]] \
       || ! (cd "$dir" && GOWORK=off go build -o "$tmp/$name" "./$subpkg") >>"$log" 2>&1; then
      echo "  FAILED $name $version (log: $log):" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
  fi
  mv -f "$tmp"/* "$target"
  rm -rf "$tmp"
  echo "  built  $name $version in $(( $(date +%s) - t0 ))s"
}

pids=(); names=(); failed=0
for entry in "${PEERS[@]}"; do
  IFS='|' read -r name module subpkg version <<<"$entry"
  [[ $version == local ]] && version="src-$(cat "$REPO/$module"/*.go "$REPO/$module"/go.mod "$REPO/$module"/go.sum | sha256sum | cut -c1-12)"
  if [[ -x "$BIN/$name-$version" ]]; then
    echo "  cached $name $version"
  else
    # at most $JOBS builds at once (the machine may have 2 cores; go already parallelises inside a build)
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || failed=1; done
    build_one "$name" "$module" "$subpkg" "$version" &
    pids+=("$!"); names+=("$name")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if (( failed )); then
  echo "install.sh: some builds failed (see above)" >&2
  exit 1
fi

# stable names -> pinned versions
for entry in "${PEERS[@]}"; do
  IFS='|' read -r name module subpkg version <<<"$entry"
  [[ $version == local ]] && version="src-$(cat "$REPO/$module"/*.go "$REPO/$module"/go.mod "$REPO/$module"/go.sum | sha256sum | cut -c1-12)"
  ln -sfn "$name-$version" "$BIN/$name"
done
rmdir "$PEERS_DIR/tmp" 2>/dev/null || true

echo "install.sh: ready in $BIN:"
for entry in "${PEERS[@]}"; do
  name=${entry%%|*}; echo "  $name -> $(readlink "$BIN/$name")"
done
echo "install.sh: total $(( $(date +%s) - start ))s"
