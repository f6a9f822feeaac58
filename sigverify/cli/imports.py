"""``sigverify import``: another tool's policy as a sigverify config; every field not carried over is reported."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sigverify.errors import ConfigError

MAX_INPUT_BYTES = 4 * 1024 * 1024


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="turn a policy-controller, Kyverno or notation policy into a sigverify config")
    p.add_argument("file", metavar="FILE", help="ClusterImagePolicy / Kyverno policy YAML (multi-document), "
                   "a notation trustpolicy.json, or - for stdin")
    p.add_argument("-o", "--output", metavar="OUT", help="write the config to OUT (default: stdout)")
    p.add_argument("--trust-store-dir", metavar="DIR",
                   help="notation trust store directory for a trustpolicy.json "
                        "(default: $XDG_CONFIG_HOME/notation/truststore)")


def _read(path: str) -> str:
    from sigverify.errors import ConfigError, ConfigProblem  # not at the top: `--version` builds this parser

    def fail(message: str) -> ConfigError:
        return ConfigError([ConfigProblem(path, None, None, message)], tip="Give the policy file to import.")

    if path == "-":
        text = sys.stdin.read(MAX_INPUT_BYTES + 1)
    else:
        try:
            if os.path.getsize(path) > MAX_INPUT_BYTES:
                raise fail(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            raise fail("no such file") from None
        except UnicodeDecodeError as exc:
            raise fail(f"not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise fail(f"cannot be read: {exc.strerror or exc}") from None
    if len(text) > MAX_INPUT_BYTES:
        raise fail(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    return text


def run(args: argparse.Namespace) -> int:
    """Exit 0 with the config written; 2 when anything cannot be carried over (nothing is written)."""
    from sigverify.cli.governance import plain_text_output
    from sigverify.errors import ConfigError, ConfigProblem
    from sigverify.importers import check_loads, import_text, render

    plain_text_output()
    name = "<stdin>" if args.file == "-" else args.file
    out_dir = os.path.dirname(os.path.abspath(args.output)) if args.output else os.getcwd()
    imported = import_text(_read(args.file), name, trust_store_dir=args.trust_store_dir, relative_to=out_dir)
    from sigverify.report.safe import one_line

    for finding in imported.findings:  # each line made safe: the messages quote the source policy
        print("\n".join(one_line(line) for line in finding.render().split("\n")), file=sys.stderr)
    blocking = imported.blocking
    if blocking:
        print(f"sigverify import: {len(blocking)} field(s) cannot be carried over (listed above); nothing was "
              "written. Change the source policy, or write those parts of the sigverify config by hand.",
              file=sys.stderr)
        return 2
    if not imported.policies:
        raise ConfigError([ConfigProblem(name, None, None, "no policy to import")],
                          tip="The file holds no ClusterImagePolicy, Kyverno verifyImages rule or trust policy.")
    text = render(imported, name)
    config = check_loads(text, out_dir)  # the output is a config sigverify itself accepts, or exit 2 with why
    for policy in config.policies:
        for authority in policy.authorities:
            if authority.notation is not None:  # the trust policy and stores as notation reads them, now
                from sigverify.formats.notation import check_config

                check_config(authority.name, authority.notation)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"sigverify: error: could not write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 3
    else:
        sys.stdout.write(text)
    print(f"sigverify import: {len(imported.policies)} polic{'y' if len(imported.policies) == 1 else 'ies'} "
          f"imported from {name}" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
    return 0
