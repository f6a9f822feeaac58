"""Every sigverify command in the documents' console/sh blocks runs as written (or, if marked, has the right shape)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs.mdblocks import (
    REPO,
    SIGVERIFY,
    Block,
    checked_blocks,
    commands,
    help_flags,
    is_sigverify,
    redirect_target,
    subcommands,
    without_redirect,
)

SHELL_BLOCKS = checked_blocks({"console", "sh", "shell", "bash"})
SIGVERIFY_BLOCKS = [b for b in SHELL_BLOCKS if any(is_sigverify(c) for c in commands(b))]
FILE_FLAGS = {"-c", "--config", "--images"}
_MACHINE_PATH = re.compile(r"^/(?:opt|home|root|work|tmp|usr/local)/")


def _created_files(block: Block) -> set[str]:
    """Files the reader has made by the time they reach this block: named YAML blocks and redirections earlier
    in the same document, and this block's own redirections."""
    from tests.docs.mdblocks import blocks

    out: set[str] = set()
    for b in blocks(REPO / block.file):
        if b.line > block.line:
            break
        if b.created_name and b.line < block.line:
            out.add(b.created_name)
        if b.lang in ("console", "sh", "shell", "bash"):
            out |= {t for c in commands(b) if (t := redirect_target(c))}
    return out


def _flags(cmd: list[str]) -> list[str]:
    return [tok.split("=", 1)[0] for tok in cmd[1:] if tok.startswith("-") and tok != "-"]


def _check_shape(cmd: list[str], block: Block) -> None:
    cmd = without_redirect(cmd)
    if cmd[1:2] == ["--version"]:
        return
    sub = cmd[1] if len(cmd) > 1 else ""
    assert sub in subcommands(), f"{block.id}: `{' '.join(cmd)}`: no subcommand {sub!r} (sigverify --help)"
    unknown = [f for f in _flags(cmd[1:]) if f not in help_flags(sub)]
    assert not unknown, f"{block.id}: `{' '.join(cmd)}`: {unknown} not in `sigverify {sub} --help`"
    created = _created_files(block)
    for flag, value in itertools.pairwise(cmd):
        if flag in FILE_FLAGS:
            assert value in created or (REPO / value).exists(), (
                f"{block.id}: `{' '.join(cmd)}` uses {value}, which the document never creates"
            )


def test_the_documents_have_sigverify_commands() -> None:
    assert len(SIGVERIFY_BLOCKS) >= 3, [b.id for b in SIGVERIFY_BLOCKS]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.id)
def test_commands_use_paths_a_reader_has(block: Block) -> None:
    for cmd in commands(block):
        assert not _MACHINE_PATH.match(cmd[0]), f"{block.id}: `{cmd[0]}` is a path on one machine; use .venv/bin/..."


@pytest.mark.parametrize("block", SIGVERIFY_BLOCKS, ids=lambda b: b.id)
def test_sigverify_commands_have_the_right_shape(block: Block) -> None:
    for cmd in commands(block):
        if is_sigverify(cmd):
            _check_shape(cmd, block)


RUNNABLE = [b for b in SIGVERIFY_BLOCKS if not (b.marked("network") or b.marked("shape"))]


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_sigverify_commands_run_as_written(block: Block, tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    from tests.docs.mdblocks import blocks

    for b in blocks(REPO / block.file):  # files the document told the reader to save
        if b.created_name and b.line < block.line:
            (tmp_path / b.created_name).write_text(b.text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI"))}
    expected = block.expected_exit()
    ran = 0
    out: list[str] = []
    for cmd in commands(block):
        if not is_sigverify(cmd):
            continue
        argv = [str(SIGVERIFY), *without_redirect(cmd)[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == expected, (
            f"{block.id}: `{' '.join(cmd)}` exited {proc.returncode}, expected {expected}\n{proc.stdout}\n{proc.stderr}"
        )
        if (target := redirect_target(cmd)) is not None:
            (tmp_path / target).write_text(proc.stdout, encoding="utf-8")
        ran += 1
        out.append(proc.stdout)
    assert ran
    printed = {ln.rstrip() for text in out for ln in text.split("\n")}
    shown = [ln.rstrip() for ln in block.text.split("\n") if block.lang == "console" and ln.strip()
             and not ln.startswith("$ ") and ln.strip() not in ("...", "…")]
    missing = [ln for ln in shown if ln not in printed]
    assert not missing, f"{block.id}: output shown in the document but not printed: {missing}"


def test_shape_check_catches_an_unknown_flag() -> None:
    block = Block("README.md", 1, "console", "$ sigverify verify --config examples/sigverify.yaml --colour\n", "")
    with pytest.raises(AssertionError, match="--colour"):
        _check_shape(commands(block)[0], block)


def test_shape_check_catches_a_file_never_created() -> None:
    block = Block("README.md", 1, "console", "$ sigverify verify --images never-made.yaml\n", "")
    with pytest.raises(AssertionError, match=r"never-made\.yaml"):
        _check_shape(commands(block)[0], block)
