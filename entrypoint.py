"""Container entrypoint: GitHub Action inputs (INPUT_*) or plain arguments -> `sigverify` CLI; no verification logic.

As a GitHub Docker action (no arguments, ``INPUT_*`` variables set by ``action.yml``) it builds the
``sigverify verify`` command line from the inputs. Otherwise its arguments go to the CLI unchanged
(``docker run IMAGE verify --config ...``). When a CI runner starts the container with a shell or ``cat``
as the command (GitLab's Docker executor, Jenkins' ``docker.image().inside``), that command is executed.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

EXIT_USAGE = 2

# Commands CI runners pass to a job container; they are executed, not given to sigverify.
_RUNNER_COMMANDS = frozenset({"sh", "bash", "cat", "/bin/sh", "/bin/bash", "/usr/bin/env", "/bin/cat"})

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off", ""})

# input name (as in action.yml) -> CLI option taking a value
_VALUE_INPUTS = (
    ("config", "--config"),
    ("images-file", "--images"),
    ("json-report", "--json"),
    ("junit-report", "--junit"),
    ("sarif-report", "--sarif"),
    ("summary-report", "--summary"),
    ("concurrency", "--concurrency"),
    ("shard", "--shard"),
    ("trust-root", "--trust-root"),
    ("format", "--format"),
)
_FLAG_INPUTS = (("fail-on-warn", "--fail-on-warn"), ("offline", "--offline"), ("quiet", "--quiet"))
_FLAGS_FOR_VERIFY_ONLY = frozenset({"--config", "--images", "--concurrency", "--shard", "--trust-root", "--offline"})
_ALL_INPUTS = ("images", "merge", "working-directory", "args", *(n for n, _ in _VALUE_INPUTS + _FLAG_INPUTS))
_REPORT_INPUTS = ("json-report", "junit-report", "sarif-report", "summary-report")


class InputError(ValueError):
    """An action input has a value sigverify cannot use (exit code 2)."""


def get_input(env: Mapping[str, str], name: str) -> str:
    """An input as GitHub passes it: ``INPUT_<NAME>`` (upper case); ``-`` may stay or become ``_``."""
    key = "INPUT_" + name.upper().replace(" ", "_")
    value = env.get(key.replace("-", "_"))
    if value is None:
        value = env.get(key, "")
    return value.strip()


def in_action(env: Mapping[str, str]) -> bool:
    return any(
        k.startswith("INPUT_") and k.removeprefix("INPUT_").lower().replace("_", "-") in _ALL_INPUTS for k in env
    )


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InputError(f"input `{name}`: expected true or false, found {value!r}. Tip: write `{name}: true`.")


def image_lines(value: str) -> list[str]:
    """The ``images`` input: one reference per line (or whitespace-separated); ``#`` starts a comment."""
    out: list[str] = []
    for line in value.splitlines():
        for word in line.split():
            if word.startswith("#"):
                break
            out.append(word)
    return out


def _merge_files(value: str) -> list[str]:
    """The ``merge`` input: report paths, one per line; glob patterns expanded (sorted), as a shell would."""
    files: list[str] = []
    for word in image_lines(value):
        matches = sorted(glob.glob(word)) if glob.has_magic(word) else [word]
        if not matches:
            raise InputError(f"input `merge`: no file matches {word!r}. Tip: download the shard reports first.")
        files.extend(matches)
    return files


def action_argv(env: Mapping[str, str]) -> list[str]:
    """``sigverify`` arguments built from the action inputs (``verify``, or ``merge`` when that input is set)."""
    ci = "github" if env.get("GITHUB_ACTIONS") == "true" else "auto"
    merge = get_input(env, "merge")
    argv = ["merge" if merge else "verify", "--ci", ci]
    for name, option in _VALUE_INPUTS + _FLAG_INPUTS:
        value = get_input(env, name)
        if option in _FLAGS_FOR_VERIFY_ONLY and merge and value and value.lower() not in _FALSE:
            raise InputError(f"input `{name}` does not apply when `merge` is set. Tip: remove it.")
        if (name, option) in _FLAG_INPUTS:
            if parse_bool(name, value):
                argv.append(option)
        elif value:
            argv += [option, value]
    extra = get_input(env, "args")
    if extra:
        try:
            argv += shlex.split(extra)
        except ValueError as exc:
            raise InputError(f"input `args`: cannot split {extra!r}: {exc}. Tip: check the quotes.") from None
    positional = _merge_files(merge) if merge else image_lines(get_input(env, "images"))
    if positional:
        argv += ["--", *positional]
    return argv


def working_directory(env: Mapping[str, str]) -> Path | None:
    """``working-directory`` (relative to the workspace), else ``$GITHUB_WORKSPACE``, else stay."""
    workspace = env.get("GITHUB_WORKSPACE", "")
    wanted = get_input(env, "working-directory")
    if not wanted:
        return Path(workspace) if workspace else None
    path = Path(wanted)
    if not path.is_absolute() and workspace:
        path = Path(workspace) / path
    return path


def _prepare(env: Mapping[str, str]) -> list[str]:
    wd = working_directory(env)
    if wd is not None:
        if not wd.is_dir():
            raise InputError(f"working directory {wd} does not exist. Tip: check `working-directory`.")
        os.chdir(wd)
    argv = action_argv(env)  # after chdir: `merge` globs are relative to the working directory
    for name in _REPORT_INPUTS:  # reports may go to a folder that does not exist yet
        value = get_input(env, name)
        if value:
            Path(value).parent.mkdir(parents=True, exist_ok=True)
    return argv


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    if args and args[0] in _RUNNER_COMMANDS:
        exe = shutil.which(args[0])
        if exe is None:
            sys.stderr.write(f"sigverify entrypoint: {args[0]} is not in this image\n")
            return 127
        os.execv(exe, args)  # noqa: S606 - the runner's own command, as a shell entrypoint would run it
    if not args and in_action(env):
        try:
            args = _prepare(env)
        except InputError as exc:
            sys.stderr.write(f"sigverify: error: {exc}\n")
            return EXIT_USAGE
        from sigverify import ci

        ci.begin("auto", env)
    elif env.get("GITHUB_WORKSPACE") and Path(env["GITHUB_WORKSPACE"]).is_dir():
        os.chdir(env["GITHUB_WORKSPACE"])

    from sigverify.cli import main as cli_main

    return int(cli_main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
