"""``sigverify lint`` and ``sigverify explain``: read the policy, touch nothing else."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_CONFIG = "sigverify.yaml"


def add_parsers(sub: Any) -> None:
    lint = sub.add_parser("lint", help="warn about identity rules that accept too much")
    lint.add_argument("-c", "--config", metavar="FILE", help=f"policy file (default: ./{DEFAULT_CONFIG})")
    lint.add_argument("--strict", action="store_true", help="any warning fails (exit 2)")
    ex = sub.add_parser("explain", help="show, without the network, which policies and authorities apply to images")
    ex.add_argument("images", nargs="*", metavar="IMAGE", help="references to explain (default: the config's)")
    ex.add_argument("-c", "--config", metavar="FILE", help=f"policy file (default: ./{DEFAULT_CONFIG})")
    ex.add_argument("--images-from", action="append", default=[], metavar="PATH",
                    help="also explain the images of manifests or compose files (repeatable; - for stdin)")


def _config_path(args: argparse.Namespace) -> str:
    import os

    from sigverify.errors import ConfigError  # here, not at the top: `sigverify --version` builds this parser

    if args.config is not None:
        return str(args.config)
    if not os.path.isfile(DEFAULT_CONFIG):
        raise ConfigError(f"no policy file: --config was not given and ./{DEFAULT_CONFIG} does not exist",
                          tip="Pass --config path/to/sigverify.yaml.")
    return DEFAULT_CONFIG


def plain_text_output() -> None:
    """In GitHub Actions, stop workflow commands before printing text that quotes files a pull request can
    change (policies, manifests); the command line resumes them on exit."""
    import os

    from sigverify import ci

    ci.begin("auto", os.environ, sys.stdout)


def lint_warnings(config: Any) -> list[str]:
    """The rendered lint warnings of a loaded config (what lint prints and verify shows first)."""
    from sigverify.policy.lint import lint

    return [w.render() for w in lint(config)]


def lint_notes(config: Any) -> tuple[Any, ...]:
    """The lint warnings of a loaded config as report values (models.LintNote), for verify's reports."""
    from sigverify.models import LintNote
    from sigverify.policy.lint import lint

    return tuple(LintNote(code=w.code, message=w.message, fix=w.fix, file=w.file, line=w.line, where=w.where)
                 for w in lint(config))


def run(args: argparse.Namespace) -> int:
    from sigverify.errors import ConfigError
    from sigverify.policy import load_config

    plain_text_output()
    config = load_config(_config_path(args))
    if args.command == "lint":
        warnings = lint_warnings(config)
        from sigverify.report.safe import one_line

        prefix = "error: " if args.strict else "warning: "
        for text in warnings:  # a warning's own lines (message, fix) each made safe
            print("\n".join(one_line(line) for line in (prefix + text).split("\n")))
        if warnings:
            print(f"{len(warnings)} warning(s)" + (" (--strict: exit 2)" if args.strict else ""))
        else:
            print(f"{config.path}: no identity rule accepts too much")
        return 2 if warnings and args.strict else 0
    from dataclasses import replace

    from sigverify.cli.declared import add_declared
    from sigverify.cli.explain import explain

    if args.images:
        images: list[tuple[str, str | None]] = [(ref, None) for ref in args.images]
    else:
        images = [(e.ref, str(e.location) if e.location else None) for e in config.images]
    if args.images_from or (not args.images and config.images_from):
        # the manifests named on the command line, else the config's images_from
        only = replace(config, images=(), images_from=() if args.images_from else config.images_from)
        declared, _ = add_declared(only, args.images_from)
        images += [(e.ref, str(e.location) if e.location else None) for e in declared.images]
    if not images:
        raise ConfigError("no images to explain: name them as arguments, or list them in the config",
                          tip="sigverify explain --config sigverify.yaml ghcr.io/acme/app:1.0")
    from sigverify.report.safe import one_line

    text, _ = explain(config, images)
    sys.stdout.write("".join(one_line(line) + "\n" for line in text.splitlines()))
    return 0
