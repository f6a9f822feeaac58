"""Tests of sigverify.registry against real registries, layouts and a misbehaving server."""
