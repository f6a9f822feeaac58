"""Command line: argument parsing, wiring the stages, writing reports, and the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NoReturn

from sigverify import __version__

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.errors import ConfigError
    from sigverify.gate import Target
    from sigverify.models import RunResult
    from sigverify.policy.model import Config

# sigverify.models.Exit's values (a test holds them equal); not imported, so `--version` stays light
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_CONFIG = "sigverify.yaml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 2 with a tip
        from sigverify import ci
        from sigverify.report.safe import plain

        message = plain(message)  # the arguments may carry text from elsewhere: one line, no secrets
        self.print_usage(sys.stderr)
        if ci.detect("auto", os.environ) == "github":  # visible in the run's annotations, not only in the log
            sys.stderr.flush()
            print(ci.workflow_command("error", message, title="sigverify usage error"), flush=True)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n  Tip: run `{self.prog} --help`.\n")


def _shard_spec(value: str) -> str:
    try:
        index, total = (int(x) for x in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 2/4), found {value!r}") from None
    if total < 1 or not 1 <= index <= total:
        raise argparse.ArgumentTypeError(f"expected 1 <= I <= N, found {value!r}")
    return f"{index}/{total}"


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, found {n}")
    return n


def _seconds(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, found {value!r}") from None
    if not n > 0 or n == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, found {value!r}")
    return n


def _add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="what to print on stdout")
    p.add_argument("--json", metavar="FILE", help="write the JSON report to FILE")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report to FILE")
    p.add_argument("--sarif", metavar="FILE", help="write a SARIF 2.1.0 report to FILE")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown summary to FILE")
    p.add_argument("--ci", choices=("auto", "github", "gitlab", "none"), default="auto",
                   help="CI-native output (step summary, annotations, outputs); auto-detected by default")
    p.add_argument("--fail-on-warn", action="store_true", help="warnings (mode: warn) fail the job too")
    p.add_argument("-v", "--verbose", action="store_true", help="show every signature checked, also on pass")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only one line per image that did not pass (verdict, reference, reason code)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sigverify", description="Verify container image signatures against a trust policy.")
    parser.add_argument("--version", action="version", version=f"sigverify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("verify", help="verify images against the policy file")
    v.add_argument("images", nargs="*", metavar="IMAGE", help="more image references to verify")
    v.add_argument("-c", "--config", metavar="FILE", help=f"policy file (default: ./{DEFAULT_CONFIG})")
    v.add_argument("--images", dest="images_file", metavar="FILE", help="a YAML list of image references")
    v.add_argument("--images-from", action="append", default=[], metavar="PATH",
                   help="verify the images of Kubernetes manifests (also helm template / kustomize build output) "
                        "or a compose file; a file, a directory or - for stdin; repeatable")
    v.add_argument("--concurrency", type=_positive, default=64, metavar="N", help="images verified at once")
    v.add_argument("--offline", action="store_true",
                   help="never contact anything but the registries (trust roots from the package or files; "
                        "keys from a key service are refused)")
    v.add_argument("--trust-root", metavar="SPEC", help="override trust_root: embedded | tuf | FILE")
    v.add_argument("--shard", type=_shard_spec, metavar="I/N", help="verify only the I-th of N slices")
    v.add_argument("--all-signatures", action="store_true",
                   help="look in every signature storage even when the classic signatures already decide")
    v.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="bound on the whole run's registry traffic (default 1800); each image also has at most "
                        "120 s and each request 30 s; what runs out is an error (TIMEOUT)")
    _add_report_args(v)

    b = sub.add_parser("verify-blob", help="verify a file (or sha256:<hex>) against a Sigstore bundle",
                       add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)

    m = sub.add_parser("merge", help="combine JSON reports of sharded runs into one result")
    m.add_argument("reports", nargs="*", metavar="REPORT.json")
    m.add_argument("--expect-shards", type=_positive, metavar="N",
                   help="fail unless the reports are exactly shards 1/N..N/N (a shard job that wrote no report)")
    _add_report_args(m)
    from sigverify.cli import governance, imports

    imports.add_parser(sub)  # type: ignore[arg-type]  # argparse types the action by the parser class
    governance.add_parsers(sub)
    return parser


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _targets(config: Config) -> list[Target]:
    """Parse every image reference up front: a bad one is a configuration error (exit 2), nothing is verified."""
    from sigverify.errors import ConfigError, ConfigProblem, InvalidReferenceError
    from sigverify.gate import Target
    from sigverify.reference import parse

    targets: list[Target] = []
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for entry in config.images:
        loc = entry.location
        from_file = loc is not None and loc.file not in ("<command line>", "<stdin>")
        base = os.path.dirname(os.path.abspath(loc.file)) if from_file and loc is not None else None
        try:
            ref = parse(entry.ref, base_dir=base)
        except InvalidReferenceError as exc:
            problems.append(ConfigProblem(file=loc.file if loc else "<command line>", line=loc.line if loc else None,
                                          key="images", message=exc.message, expected=exc.expected, found=exc.found))
            continue
        key = str(ref)
        if key in seen:
            continue
        seen.add(key)
        targets.append(Target(ref=ref, written=entry.ref, file=loc.file if from_file and loc else None,
                              line=loc.line if loc else None))
    if problems:
        raise ConfigError(problems, tip="Fix the image references; nothing was verified.")
    return targets


def _write(option: str, path: str, text: str | Iterable[str], failures: list[str]) -> None:
    """Write one report file whole (a temporary file renamed over it) or not at all; a failure is a one-line
    cause in ``failures`` (exit 3), never a traceback, and leaves no report of an earlier run at ``path``."""
    import contextlib
    import tempfile

    tmp: str | None = None
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sigverify-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)  # a report in pieces: never the whole text in memory at once
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        failures.append(f"could not write the {option} report: {path}: {exc.strerror or exc}")
        with contextlib.suppress(OSError):
            if not os.path.isdir(path):
                os.unlink(path)  # a stale report must not be read as this run's
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _emit(result: RunResult, args: argparse.Namespace) -> int:
    """After verification: write every requested report, print stdout, publish CI outputs. Every channel is
    attempted; the exit code is the verdict's, or 3 when any of them could not be written."""
    from sigverify.report import json as json_report

    failures: list[str] = []
    if args.json:
        _write("--json", args.json, json_report.chunks(result), failures)
    if args.junit:
        from sigverify.report import junit

        _write("--junit", args.junit, junit.render(result), failures)
    if args.sarif:
        from sigverify.report import sarif

        _write("--sarif", args.sarif, sarif.render(result), failures)
    if args.summary:
        from sigverify.report import markdown

        _write("--summary", args.summary, markdown.render(result), failures)
    if args.ci != "none":
        from sigverify import ci

        ci.begin(args.ci, os.environ, sys.stdout)  # registry-controlled text must not become workflow commands
    from sigverify.report import text

    if args.quiet:
        sys.stdout.write(text.render_quiet(result))
        for note in result.lint:  # -q lists failing images only: the lint warnings go to stderr, once
            _err(f"sigverify: warning: {_stderr_text(f'{note.location}: {note.code}: {note.message}')}")
    elif args.format == "json":
        sys.stdout.write(json_report.render(result))
    else:
        sys.stdout.write(text.render(result, verbose=args.verbose))
    sys.stdout.flush()
    for cause in failures:
        _err(f"sigverify: error: {cause}")
    if args.ci != "none":
        failures += ci.publish(result, mode=args.ci, env=os.environ, out=sys.stdout,  # prints its own causes
                               incomplete=bool(failures))
    if failures:
        _err(f"sigverify: exit 3: {len(failures)} output(s) could not be written; the result "
             f"({'pass' if result.exit_code == 0 else 'fail'}) was not delivered")
        return EXIT_INTERNAL
    return result.exit_code


def _preflight_trust(config: Config, *, offline: bool) -> TrustStore:
    """Load the trust root before verifying when a policy needs it, so an unreadable trusted_root.json is a
    configuration error (exit 2) instead of a failure of every signature."""
    from sigverify.crypto.trustroot import TrustStore

    trust = TrustStore(config.trust_root, offline=offline)
    needs_root = any(a.tlog == "require" or a.kind == "keyless" for p in config.policies for a in p.authorities)
    if needs_root:
        trust.trusted_root_json()
    for policy in config.policies:
        for authority in policy.authorities:
            if authority.notation is not None:  # trust stores, trustpolicy.json: exit 2 now, not per signature
                from sigverify.formats.notation import check_config

                check_config(authority.name, authority.notation)
    return trust


def _preflight_distinct_keys(config: Config) -> None:
    """Two authorities of one policy whose keys are one key once fetched (a KMS alias and its ARN, a KMS key and
    its exported PEM) would count once toward a threshold: a configuration error (exit 2), before any image."""
    from sigverify.errors import ConfigError, ConfigProblem
    from sigverify.policy.signers import resolved_duplicates

    problems = [
        ConfigProblem(file=second.location.file, line=second.location.line, key=f"authority {second.name!r}",
                      message=f"authorities {first.name!r} and {second.name!r} of policy {policy.name!r} hold the "
                      f"same public key ({fingerprint}) once fetched: a threshold counts distinct signers, so they "
                      "count once", expected="each authority of a policy trusting another key",
                      found=f"{first.key.source if first.key else '?'} and {second.key.source if second.key else '?'}")
        for policy in config.policies for first, second, fingerprint in resolved_duplicates(policy.authorities)]
    if problems:
        raise ConfigError(problems, tip="Keep one authority per key: remove the second, or point it at another key.")


def _refuse_key_services(config: Config) -> None:
    """``--offline`` contacts nothing but the registries: a key read from a key service (awskms://, gcpkms://,
    azurekms://, hashivault://) is a configuration error naming the authority and the offline alternative."""
    from sigverify.errors import ConfigError, ConfigProblem
    from sigverify.kms import export_command, network_service

    problems: list[ConfigProblem] = []
    commands: list[str] = []
    for policy in config.policies:
        for authority in policy.authorities:
            uri = authority.key.kms if authority.key is not None else None
            service = network_service(uri) if uri else None
            if uri is None or service is None:
                continue
            problems.append(ConfigProblem(
                file=authority.location.file, line=authority.location.line, key=f"authority {authority.name!r}",
                message=f"--offline: policy {policy.name!r} reads this authority's public key from {service} "
                        "over the network",
                expected="with --offline, a key that needs no network: key: {path: ...}, {pem: ...} or {env: ...}",
                found=f"kms: {uri}"))
            commands.append(export_command(uri))
    if problems:
        raise ConfigError(problems, tip="Export the public key once and verify offline with the file: "
                          + "; ".join(dict.fromkeys(commands)) + ", then key: {path: vendor.pem}. "
                          "Or run without --offline to read the key from the key service.")


def _cmd_verify(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from sigverify.errors import ConfigError
    from sigverify.gate import GateOptions, run, shard
    from sigverify.policy import load_config

    config_path = args.config
    if config_path is None:
        if not os.path.isfile(DEFAULT_CONFIG):
            raise ConfigError(f"no policy file: --config was not given and ./{DEFAULT_CONFIG} does not exist",
                              tip="Pass --config path/to/sigverify.yaml (see examples/).")
        config_path = DEFAULT_CONFIG
    config = load_config(config_path, images_file=args.images_file, extra_images=args.images)
    from sigverify.cli.declared import add_declared

    config, declared_note = add_declared(config, args.images_from)
    from sigverify.cli.governance import lint_notes

    lint = lint_notes(config)  # shown once, at the top of every report (text, JSON, markdown, SARIF, CI)
    if args.trust_root:
        spec = args.trust_root
        if spec not in ("embedded", "tuf"):
            if not os.path.isfile(spec):
                raise ConfigError(f"--trust-root: no such file: {spec}",
                                  tip="Give embedded, tuf, or the path of a trusted_root.json.")
            spec = os.path.abspath(spec)
        config = replace(config, trust_root=spec)
    if args.offline and config.trust_root == "tuf":
        raise ConfigError("--offline contradicts `trust_root: tuf` (a TUF refresh needs the network)",
                          tip="Use trust_root: embedded or a trusted_root.json file for offline runs.")
    if args.offline:
        _refuse_key_services(config)
        urls = [u for e in config.files for u in (e.path, e.bundle, e.signature, e.certificate)
                if u and u.lower().startswith("https://")]
        if urls:
            raise ConfigError(f"--offline contradicts `files:` downloaded from https:// ({len(urls)} URLs)",
                              tip="Download the files (and their .sig/.cert) first and list the local paths.")
    targets = _targets(config)
    if not targets and not config.files:
        raise ConfigError("no images to verify: the config lists none and none were given"
                          + (f" ({declared_note})" if declared_note else ""),
                          tip="Add `images:` to the config, pass --images FILE or --images-from PATH, or name "
                              "images as arguments.")
    selected = shard(targets, args.shard)
    options = GateOptions(concurrency=args.concurrency, offline=args.offline, fail_on_warn=args.fail_on_warn,
                          all_signatures=args.all_signatures, shard=args.shard)
    trust = _preflight_trust(config, offline=args.offline)
    if not args.offline:  # --offline refuses key-service keys: nothing to fetch
        _preflight_distinct_keys(config)
    from sigverify.registry import Registries

    bounds = {"run_timeout": args.timeout} if args.timeout else {}
    with Registries(config.registries, pool_size=max(args.concurrency, 4), **bounds) as registries:
        registries.preconnect((t.ref for t in selected), limit=args.concurrency)  # --offline still reads them
        result = run(config, selected, options, registries=registries, trust=trust)
    from sigverify.merge import fingerprint

    result = replace(result, shard=args.shard, fingerprint=fingerprint(config, targets), lint=lint)
    if declared_note:
        result = replace(result, notes=(*result.notes, declared_note))
    return _emit(result, args)


def _cmd_merge(args: argparse.Namespace) -> int:
    from sigverify.merge import merge_reports

    result = merge_reports(args.reports, fail_on_warn=args.fail_on_warn, expect_shards=args.expect_shards)
    return _emit(result, args)


def _cmd_verify_blob(rest: Sequence[str]) -> int:
    import importlib

    try:
        blob = importlib.import_module("sigverify.cli.verify_blob")
    except ImportError:  # pragma: no cover - present once the Sigstore capability lands
        _err("sigverify verify-blob is not available in this build")
        return EXIT_USAGE
    return int(blob.main(list(rest)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sigverify`` console script. Never lets an exception exit 0."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["verify-blob"]:  # argparse REMAINDER drops leading --options: hand them over as-is
        return _cmd_verify_blob(args_list[1:])
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.command == "verify-blob":
            return _cmd_verify_blob(args.rest)
        if args.command == "merge":
            return _cmd_merge(args)
        if args.command in ("import", "lint", "explain"):
            from sigverify.cli import governance, imports

            return imports.run(args) if args.command == "import" else governance.run(args)
        return _cmd_verify(args)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors 2
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        _err("sigverify: interrupted")
        return 130
    except Exception as exc:
        from sigverify.errors import ConfigError, SigverifyError

        if isinstance(exc, ConfigError):
            return _config_error(exc, getattr(args, "ci", "auto"))
        if isinstance(exc, SigverifyError):
            _err(f"sigverify: {_stderr_text(exc.diagnostics())}")
            return EXIT_INTERNAL
        import traceback

        _err("sigverify: internal error (this is a bug; nothing was approved):")
        _err(_stderr_text(traceback.format_exc().rstrip("\n")))
        return EXIT_INTERNAL
    finally:
        if "sigverify.ci" in sys.modules:  # workflow commands stopped by ci.begin are resumed on every exit path
            sys.modules["sigverify.ci"].end(sys.stdout)


def _stderr_text(text: str) -> str:
    """Diagnostics for stderr: URLs redacted, control characters but line breaks shown as escapes."""
    from sigverify.report.safe import one_line, redact_urls

    return "\n".join(one_line(line) for line in redact_urls(text).split("\n"))


def _config_error(exc: ConfigError, mode: str) -> int:
    """Exit 2 with every problem on stderr; in GitHub also an annotation per problem and a step summary."""
    from sigverify import ci

    github = ci.detect(mode, os.environ) == "github"
    if github:
        ci.begin(mode, os.environ, sys.stdout)  # the diagnostics quote the config: plain text, not commands
    _err(f"sigverify: configuration error\n{_stderr_text(exc.diagnostics())}")
    if github:
        sys.stderr.flush()
        ci.publish_config_error(exc, mode=mode, env=os.environ, out=sys.stdout)  # prints its own causes
    return EXIT_USAGE
