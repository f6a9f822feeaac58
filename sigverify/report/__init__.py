"""Pure renderers of a RunResult: text, json, junit, sarif, markdown (no I/O, no exit codes)."""
