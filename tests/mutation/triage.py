"""List the surviving mutants of a finished `run.sh` with their diffs, grouped by function, each marked with the
rule of tests/mutation/equivalent.md that explains it (or `UNEXPLAINED`). Usage: triage.py WORKDIR > survivors.md"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

# Functions that only build report text (what a human reads), never a verdict: rule R1.
REPORT_ONLY = re.compile(
    r"\.x_(_show|describe_condition|_describe_missing|_threshold_found|_short|describe_authority|_attestation_types"
    r"|subject|revocation_endpoints_text)__mutmut"
)
# Changed line is an argument that only feeds the report: message, expected/found, details, signer label: rule R2.
REPORT_ARG = re.compile(
    r"(expected=|found=|signer=|details\[|details=|\"details\"|message=|f\"|\.label|describe\(|repr\(|\.isoformat\("
    r"|tip=|_summary|first_line|\.rfc4514_string|policy=policy\.name|authority=authority\.name)"
)


def sh(workdir: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=workdir, capture_output=True, text=True,
                          timeout=120).stdout


def main() -> None:
    workdir = sys.argv[1]
    names = [line.strip().rsplit(": ", 1)[0] for line in sh(workdir, "results").splitlines()
             if line.strip().endswith(": survived")]
    by_function: dict[str, list[tuple[str, list[str], str]]] = defaultdict(list)
    for name in names:
        diff = [ln for ln in sh(workdir, "show", name).splitlines()
                if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        changed = " ".join(diff)
        if REPORT_ONLY.search(name):
            rule = "R1"
        elif diff and REPORT_ARG.search(changed):
            rule = "R2"
        else:
            rule = "UNEXPLAINED"
        by_function[name.split("__mutmut_")[0]].append((name, diff, rule))
    counts: dict[str, int] = defaultdict(int)
    for entries in by_function.values():
        for _, _, rule in entries:
            counts[rule] += 1
    print(f"# Surviving mutants ({len(names)}): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for function, entries in sorted(by_function.items()):
        print(f"\n## {function}\n")
        for name, diff, rule in entries:
            print(f"- `{name.rsplit('__mutmut_', 1)[1]}` {rule}")
            for ln in diff:
                print(f"      {ln.strip()[:150]}")


if __name__ == "__main__":
    main()
