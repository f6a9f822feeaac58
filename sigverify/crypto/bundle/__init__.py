"""Sigstore bundles: parse, verify (with or without a log entry), and check log bodies against the bundle."""
