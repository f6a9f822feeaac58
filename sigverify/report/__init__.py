"""Pure renderers of a RunResult: text, json, junit, sarif, markdown (no I/O, no exit codes)."""

DIGEST_CONTRACT = (
    "sigverify verified exactly the digests it reports: deploy by digest (the `digests` output), never by tag."
)
