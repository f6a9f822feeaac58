"""The only module that reads CI environment variables and writes CI files (GitHub, GitLab, Jenkins)."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sigverify.models import ImageResult, RunResult, Verdict
from sigverify.report._cases import image_reasons, rows
from sigverify.report.safe import CONTROL, plain, sanitized

if TYPE_CHECKING:
    from sigverify.errors import ConfigError

GITHUB_SUMMARY_LIMIT = 1024 * 1024 - 4096  # GitHub rejects a step summary over 1 MiB; leave a margin

_STOP_TOKEN_ENV = "SIGVERIFY_STOP_COMMANDS_TOKEN"  # noqa: S105 - a variable name, not a secret


def detect(mode: str, env: Mapping[str, str]) -> str:
    """The CI flavour to publish for: ``github``, ``gitlab`` or ``none``."""
    if mode != "auto":
        return mode
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return "none"


# ---------------------------------------------------------------------------------------------------------------
# GitHub workflow commands (escaping as in actions/toolkit packages/core/src/command.ts)
# ---------------------------------------------------------------------------------------------------------------


_OTHER_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape_data(value: str) -> str:
    """GitHub's escaping of command data (%, CR, LF), plus every other control character (ESC, BEL, C1) shown
    as \\xNN: nothing in an annotation can drive the terminal or end the command line."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _OTHER_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **props: str | int | None) -> str:
    """``::command key=value,...::message`` with every part escaped."""
    parts = [f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None and v != ""]
    head = f"::{command} {','.join(parts)}" if parts else f"::{command}"
    return f"{head}::{escape_data(message)}"


def begin(mode: str = "auto", env: Mapping[str, str] | None = None, out: TextIO | None = None) -> None:
    """Before any registry-controlled text reaches the log: stop GitHub from reading workflow commands in it.

    Prints ``::stop-commands::<random token>`` and remembers the token in this process's environment, so
    ``publish`` can resume commands for its own annotations. A signature payload or registry error message
    that contains ``::error::...`` or ``::add-mask::...`` then stays plain text.
    """
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    if detect(mode, env) != "github" or os.environ.get(_STOP_TOKEN_ENV):
        return
    token = secrets.token_hex(16)
    os.environ[_STOP_TOKEN_ENV] = token
    out.write(f"::stop-commands::{token}\n")
    out.flush()


def _resume(out: TextIO) -> None:
    token = os.environ.pop(_STOP_TOKEN_ENV, None)
    if token:
        out.write(f"::{token}::\n")


def end(out: TextIO | None = None) -> None:
    """Resume workflow commands if ``begin`` stopped them and nothing resumed them yet (every exit path)."""
    out = sys.stdout if out is None else out
    _resume(out)
    out.flush()


def _annotation_path(source: str, env: Mapping[str, str]) -> str:
    """GitHub wants paths relative to the repository root (the workspace), with forward slashes."""
    path = Path(source)
    if not path.is_absolute():
        path = Path.cwd() / path
    workspace = env.get("GITHUB_WORKSPACE")
    if workspace:
        try:
            return path.resolve().relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return source


def _annotation(img: ImageResult, result: RunResult, env: Mapping[str, str]) -> str | None:
    if img.verdict is Verdict.PASS:
        return None
    command = "warning" if img.verdict is Verdict.WARN and not result.fail_on_warn else "error"
    if img.verdict is Verdict.WAIVED:
        command = "notice"
    reasons = image_reasons(img)
    first = reasons[0] if reasons else None
    code = first.code if first else img.verdict.value.upper()
    lines = [f"{img.reference}: {img.verdict.value}"]
    for r in reasons:
        line = f"{r.code}: {r.message}"
        if r.policy:
            line = f"[{r.policy}] {line}"
        lines.append(line)
        if r.expected is not None:
            lines.append(f"  expected: {r.expected}")
        if r.found is not None:
            lines.append(f"  found: {r.found}")
    file = config_line = None
    if img.source_file:
        file = _annotation_path(img.source_file, env)
        config_line = img.source_line
    elif result.config_path:
        file = _annotation_path(result.config_path, env)
    return workflow_command(
        command, "\n".join(lines), file=file, line=config_line, title=f"sigverify {code}: {img.reference}"
    )


def verified_digests(result: RunResult) -> dict[str, str]:
    """Image reference -> digest, only for images that passed because an authority verified them."""
    out: dict[str, str] = {}
    for img in result.images:
        verified = any(p.passed and p.verified_by for p in img.policies)
        if img.verdict is Verdict.PASS and img.digest and verified:
            out[img.reference] = img.digest
    return out


def _output_entry(name: str, value: str) -> str:
    """``name<<DELIM`` form with a random delimiter that the value cannot contain."""
    delim = f"ghadelimiter_{secrets.token_hex(16)}"
    while delim in value:  # pragma: no cover - 128 random bits
        delim = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delim}\n{value}\n{delim}\n"


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def _try(failures: list[str], variable: str, path: str, write: Callable[[], None]) -> None:
    """Run ``write``; an OSError becomes a one-line cause in ``failures`` (and on stderr), never a traceback."""
    try:
        write()
    except OSError as exc:
        cause = f"could not write CI outputs: {variable}={path}: {exc.strerror or exc}"
        failures.append(cause)
        sys.stderr.write(f"sigverify: error: {_cause_line(cause)}\n")


def _cause_line(text: str) -> str:
    return CONTROL.sub("\ufffd", text)


def _publish_github(result: RunResult, env: Mapping[str, str], out: TextIO, incomplete: bool) -> list[str]:
    from sigverify.report import markdown

    failures: list[str] = []
    _resume(out)
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        text = markdown.render(result, max_bytes=GITHUB_SUMMARY_LIMIT) + "\n"
        _try(failures, "GITHUB_STEP_SUMMARY", summary_path, lambda: _append(summary_path, text))
    safe = sanitized(result)
    for note in safe.lint:  # the config's lint warnings, one annotation each at the key's line, before the images
        out.write(workflow_command("warning", f"{note.where + ': ' if note.where else ''}{note.message}\nfix: "
                                   f"{note.fix}", file=_annotation_path(note.file, env), line=note.line,
                                   title=f"sigverify lint {note.code}") + "\n")
    for img in rows(safe.images):
        line = _annotation(img, safe, env)
        if line is not None:
            out.write(line + "\n")
    output_path = env.get("GITHUB_OUTPUT")
    if output_path:
        outputs = (
            _output_entry("result", "pass" if result.exit_code == 0 and not (incomplete or failures) else "fail")
            + _output_entry("digests", json.dumps(verified_digests(result), separators=(",", ":")))
            + _output_entry("summary", json.dumps(result.summary, separators=(",", ":")))
        )
        _try(failures, "GITHUB_OUTPUT", output_path, lambda: _append(output_path, outputs))
    return failures


# ---------------------------------------------------------------------------------------------------------------
# GitLab: a collapsible log section listing what failed, with the config line to look at
# ---------------------------------------------------------------------------------------------------------------


def _clean_line(text: str) -> str:
    """One log line without control characters (no fake sections or terminal escapes from registry text)."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _publish_gitlab(result: RunResult, out: TextIO) -> None:
    result = sanitized(result)
    problems = [img for img in rows(result.images) if img.verdict is not Verdict.PASS]
    if not problems:
        return
    name = f"sigverify_{secrets.token_hex(4)}"
    now = int(time.time())
    s = result.summary
    header = f"sigverify: {s['fail']} failed, {s['error']} errors, {s['warn']} warnings of {s['total']} images"
    out.write(f"\x1b[0Ksection_start:{now}:{name}[collapsed=false]\r\x1b[0K{_clean_line(header)}\n")
    for img in problems:
        where = ""
        if img.source_file:
            where = f" ({img.source_file}:{img.source_line})" if img.source_line else f" ({img.source_file})"
        out.write(_clean_line(f"{img.verdict.value.upper():5} {img.reference}{where}") + "\n")
        reasons = image_reasons(img)
        for r in reasons:
            out.write(_clean_line(f"      {r.code}: {r.message}") + "\n")
            if r.expected is not None:
                out.write(_clean_line(f"        expected: {r.expected}") + "\n")
            if r.found is not None:
                out.write(_clean_line(f"        found:    {r.found}") + "\n")
    out.write(f"\x1b[0Ksection_end:{int(time.time())}:{name}\r\x1b[0K\n")


def publish(
    result: RunResult, *, mode: str = "auto", env: Mapping[str, str] | None = None, out: TextIO | None = None,
    incomplete: bool = False,
) -> list[str]:
    """Write CI-native outputs for ``result``: GitHub step summary, annotations and outputs; GitLab log section.
    ``incomplete``: some report could not be written, so the ``result`` output is ``fail`` even on a pass.

    Does not raise for a CI file it cannot write: it writes every other output, prints a one-line cause per
    failed file to stderr and returns the causes. The command line turns any of them into exit 3 (an
    environment the results cannot be written to never reads as a pass, nor as a failed verification).
    """
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    flavour = detect(mode, env)
    failures: list[str] = []
    if flavour == "github":
        failures = _publish_github(result, env, out, incomplete)
    elif flavour == "gitlab":
        _publish_gitlab(result, out)
    out.flush()
    return failures


# ---------------------------------------------------------------------------------------------------------------
# Configuration errors (exit 2): visible in the CI UI, not only in the log
# ---------------------------------------------------------------------------------------------------------------


def _config_error_summary(error: ConfigError) -> str:
    from sigverify.report.markdown import text as md

    lines = ["### 🛑 sigverify: configuration error", "", "Nothing was verified. Fix these problems:", ""]
    for p in error.problems:
        where = p.file if p.line is None else f"{p.file}:{p.line}"
        item = f"- <code>{md(plain(where))}</code>: {md(plain(p.message))}"
        if p.expected is not None:
            item += f"<br>expected: <code>{md(plain(p.expected))}</code>"
        if p.found is not None:
            item += f"<br>found: <code>{md(plain(p.found))}</code>"
        lines.append(item)
    if error.tip:
        lines += ["", f"Tip: {md(plain(error.tip))}"]
    return "\n".join(lines) + "\n"


def publish_config_error(
    error: ConfigError, *, mode: str = "auto", env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> list[str]:
    """GitHub: one ``::error file=,line=::`` annotation per problem and a step summary. Returns the causes of
    CI files that could not be written (also printed to stderr)."""
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    failures: list[str] = []
    if detect(mode, env) != "github":
        return failures
    _resume(out)
    for p in error.problems:
        message = plain(p.message)
        if p.expected is not None:
            message += f"\nexpected: {plain(p.expected)}"
        if p.found is not None:
            message += f"\nfound: {plain(p.found)}"
        if error.tip:
            message += f"\nTip: {plain(error.tip)}"
        located = not p.file.startswith("<")
        out.write(workflow_command(
            "error", message, file=_annotation_path(p.file, env) if located else None,
            line=p.line if located else None, title="sigverify configuration error") + "\n")
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        text = _config_error_summary(error)
        _try(failures, "GITHUB_STEP_SUMMARY", summary_path, lambda: _append(summary_path, text))
    out.flush()
    return failures
