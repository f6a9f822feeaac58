"""The command line: ``sigverify verify``, ``verify-blob`` and ``merge`` (see main.py)."""

from __future__ import annotations

from sigverify.cli.main import main

__all__ = ["main"]
