"""sigverify: a CI gate that verifies container image signatures against a trust policy."""

__version__ = "0.1.0"
