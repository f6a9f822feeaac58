"""Fixtures for the Sigstore tests: the test Sigstore instances (tests/fixtures/testsigstore.py)."""

from tests.fixtures.testsigstore import other_sigstore, test_sigstore

__all__ = ["other_sigstore", "test_sigstore"]
