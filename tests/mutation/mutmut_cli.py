"""Run mutmut 3.x with the report text left alone: prose strings (a space inside: messages, expected/found text,
tips) are not mutated, and no argument is removed from the constructors that only carry report text (Failure,
Reason, the error classes). Every other operator runs as mutmut ships it, so string constants that decide a verdict
("ignore", "sha256", "keyless", "attestation", ...) are still mutated. Used by run.sh."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import libcst as cst
from mutmut.mutation import mutators

_REPORT_CALLS = {"Failure", "Reason", "RegistryError", "KeyMaterialError", "ConfigError", "TlogError",
                 "StatementError", "PayloadError", "IdentityError", "ConfigProblem"}


def _operator_string(node: cst.BaseString) -> Iterable[cst.BaseString]:
    if isinstance(node, cst.SimpleString) and " " in node.value:
        return
    yield from mutators.operator_string(node)


def _callee(node: cst.Call) -> str | None:
    func = node.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _operator_arg_removal(node: cst.Call) -> Iterable[cst.Call]:
    if _callee(node) in _REPORT_CALLS:
        return
    yield from mutators.operator_arg_removal(node)


def _install() -> None:
    swap = {mutators.operator_string: _operator_string, mutators.operator_arg_removal: _operator_arg_removal}
    ops = mutators.mutation_operators
    ops[:] = [(kind, swap.get(op, op)) for kind, op in ops]


if __name__ == "__main__":
    _install()
    from mutmut.__main__ import cli

    sys.argv[0] = "mutmut"
    cli()
