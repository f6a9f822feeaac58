"""Differential tests against the real cosign (v2, v3) and notation, in real local registries."""
