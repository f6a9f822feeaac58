"""Tests of keyless Sigstore verification: bundles, classic keyless, attestations, verify-blob."""
