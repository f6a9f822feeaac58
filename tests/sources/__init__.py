"""Tests of sigverify.sources: images read from Kubernetes manifests and compose files, with their lines."""
