"""Run the CLI with ``python -m sigverify``."""

from sigverify.cli import main

raise SystemExit(main())
