#!/usr/bin/env bash
# Mutation testing of the checks that decide a verdict (mutmut 3.x): bash tests/mutation/run.sh [CONFIG]
#
# CONFIG (default tests/mutation/setup.cfg: verifiers and evaluation) chooses the scope and the tests; also
#   bash tests/mutation/run.sh tests/mutation/setup-policy-registry.cfg
# mutates policy matching (policy/globs.py) and the registry content checks (registry/content.py).
#
# Copies the committed tree (git HEAD) to a scratch directory, runs mutmut there with tests/mutation/setup.cfg
# (scope: only_mutate; tests: pytest_add_cli_args_test_selection) and prints the summary. The work tree is never
# mutated. Needs mutmut 3.x in the venv: .venv/bin/pip install 'mutmut>=3,<4'. MUTMUT_JOBS (default 2) sets the
# number of parallel workers. Surviving mutants must be killed by a test or listed in tests/mutation/equivalent.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
work=${MUTATION_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/sigverify-mutation.XXXXXX")}
export SIGVERIFY_VECTORS=${SIGVERIFY_VECTORS:-$repo/../shared/vectors}
git -C "$repo" archive HEAD | tar -x -C "$work"
config=$(cd "$repo" && realpath "${1:-tests/mutation/setup.cfg}")
cp "$config" "$work/setup.cfg"
cd "$work"
echo "mutation run in $work with $(basename "$config") (HEAD $(git -C "$repo" rev-parse --short HEAD), $(date -u +%FT%TZ))"
"$python" "$repo/tests/mutation/mutmut_cli.py" run --max-children "${MUTMUT_JOBS:-2}" || true
"$python" -m mutmut results --all true > results.txt 2>&1 || "$python" -m mutmut results > results.txt 2>&1 || true
"$python" - "$work/results.txt" <<'PY'
import collections, sys
counts = collections.Counter()
survived = []
for line in open(sys.argv[1], encoding="utf-8"):
    name, sep, status = line.strip().rpartition(": ")
    if not sep:
        continue
    counts[status] += 1
    if status == "survived":
        survived.append(name)
print("mutants:", dict(counts))
print("survived:", *survived, sep="\n  ")
PY
echo "results: $work/results.txt (mutmut show <name> in $work shows a mutant's diff)"
