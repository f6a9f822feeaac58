"""Multi-document strict YAML: every document with the line of each value; duplicate keys and odd tags are errors."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from sigverify.errors import ConfigProblem
from sigverify.policy.yamlstrict import MAX_NODES, YamlDoc, _Composer, _loader, _TooLarge

MAX_DOCUMENTS = 20_000


def documents(text: str, filename: str) -> Iterator[tuple[YamlDoc | None, list[ConfigProblem]]]:
    """Yield each document of a YAML stream with its problems; a syntax error ends the stream with its line."""
    loader = _loader()(text)
    count = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                root = loader.get_node()
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 1 if mark is not None else None
                col = f"column {mark.column + 1}: " if mark is not None else ""
                context = f" ({exc.context})" if exc.context else ""
                message = f"{col}YAML syntax error: {exc.problem or 'invalid YAML'}{context}"
                yield None, [ConfigProblem(filename, line, None, message)]
                return
            except yaml.YAMLError as exc:
                yield None, [ConfigProblem(filename, None, None, f"YAML syntax error: {exc}")]
                return
            count += 1
            if count > MAX_DOCUMENTS:
                yield None, [ConfigProblem(filename, None, None, f"more than {MAX_DOCUMENTS} YAML documents")]
                return
            comp = _Composer(filename)
            if root is None:
                yield comp.doc, []
                continue
            try:
                comp.doc.data = comp.convert(root, ())
            except RecursionError:
                yield None, [ConfigProblem(filename, root.start_mark.line + 1, None, "the YAML is nested too deeply")]
                return
            except _TooLarge:
                message = f"the YAML document expands to more than {MAX_NODES} values (alias bomb?)"
                yield None, [ConfigProblem(filename, root.start_mark.line + 1, None, message)]
                return
            yield comp.doc, comp.problems
    finally:
        loader.dispose()
