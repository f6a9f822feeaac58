"""Load a sigverify YAML config into typed Config objects, collecting every problem with its file:line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sigverify.errors import ConfigError, ConfigProblem
from sigverify.policy.keys import MAX_KEY_BYTES, pem_public_key_problem
from sigverify.policy.model import Config, ImageEntry, Location
from sigverify.policy.policies import jmespath_problem
from sigverify.policy.schemacheck import schema_problems
from sigverify.policy.sections import ConfigBuilder
from sigverify.policy.yamlstrict import format_path, parse_strict

__all__ = [
    "COMMAND_LINE",
    "ERROR_TIP",
    "MAX_CONFIG_BYTES",
    "MAX_KEY_BYTES",
    "jmespath_problem",
    "load_config",
    "load_config_text",
    "pem_public_key_problem",
]

MAX_CONFIG_BYTES = 4 * 1024 * 1024
COMMAND_LINE = "<command line>"
ERROR_TIP = (
    "Fix the problems listed above and run again; nothing was verified. "
    "The configuration format is described in README.md and in sigverify/policy/schema.json."
)


def load_config(path: str | Path, *, images_file: str | Path | None = None, extra_images: Sequence[str] = ()) -> Config:
    """Read, validate and type a config file. Raises ConfigError listing every problem found."""
    p = Path(path)
    display = str(path)
    text = _read_text(p, display, "configuration file")
    return load_config_text(
        text,
        filename=display,
        base_dir=Path(os.path.abspath(p)).parent,
        images_file=images_file,
        extra_images=extra_images,
    )


def load_config_text(
    text: str,
    *,
    filename: str,
    base_dir: Path,
    images_file: str | Path | None = None,
    extra_images: Sequence[str] = (),
) -> Config:
    """Like load_config, from text; relative paths resolve against ``base_dir``."""
    problems: list[ConfigProblem] = []
    doc, yaml_problems = parse_strict(text, filename)
    problems.extend(yaml_problems)
    config: Config | None = None
    if doc is not None:
        found_by_schema = schema_problems(doc, filename)
        builder = ConfigBuilder(doc, filename, Path(os.path.abspath(base_dir)))
        config = builder.config()
        # A key URI the builder refused (sigverify.kms: the scheme, why, the export step) is reported once:
        # the schema's generic pattern problem at the same key adds nothing.
        kms_keys = {p.key for p in builder.problems if p.key is not None and p.key.endswith(".kms")}
        problems.extend(p for p in found_by_schema if p.key not in kms_keys)
        problems.extend(builder.problems)
    images = list(config.images) if config is not None else []
    if images_file is not None:
        images.extend(_images_from_file(images_file, problems))
    images.extend(ImageEntry(ref, Location(COMMAND_LINE)) for ref in extra_images)
    if problems or config is None:
        raise ConfigError(_sorted_unique(problems, filename), tip=ERROR_TIP)
    seen: set[tuple[str, str]] = set()
    unique: list[ImageEntry] = []
    for entry in images:
        key = _dedupe_key(entry)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return Config(
        path=config.path,
        version=config.version,
        images=tuple(unique),
        policies=config.policies,
        registries=config.registries,
        default=config.default,
        trust_root=config.trust_root,
        files=config.files,
        images_from=config.images_from,
        waivers=config.waivers,
        max_waiver_days=config.max_waiver_days,
    )


def _dedupe_key(entry: ImageEntry) -> tuple[str, str]:
    """Same text means same image, except a relative ``oci:`` path, which depends on where it was written."""
    ref = entry.ref
    if not ref.startswith("oci:") or os.path.isabs(ref[4:]):
        return (ref, "")
    where = entry.location.file if entry.location is not None else COMMAND_LINE
    return (ref, COMMAND_LINE if where == COMMAND_LINE else os.path.dirname(os.path.abspath(where)))


def _sorted_unique(problems: list[ConfigProblem], main_file: str) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    for p in problems:
        if p not in out:
            out.append(p)
    return sorted(out, key=lambda p: (p.file != main_file, p.file, p.line or 0))


def _read_text(p: Path, display: str, what: str) -> str:
    def fail(message: str) -> ConfigError:
        return ConfigError([ConfigProblem(display, None, None, message)], tip=f"Check the path of the {what}.")

    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise fail(f"the {what} is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"{what} not found") from None
    except IsADirectoryError:
        raise fail(f"the {what} is a directory, expected a YAML file") from None
    except PermissionError:
        raise fail(f"the {what} cannot be read: permission denied") from None
    except UnicodeDecodeError as exc:
        raise fail(f"the {what} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise fail(f"the {what} cannot be read: {exc.strerror}") from None


def _images_from_file(images_file: str | Path, problems: list[ConfigProblem]) -> list[ImageEntry]:
    display = str(images_file)
    try:
        text = _read_text(Path(images_file), display, "images file (--images)")
    except ConfigError as exc:
        problems.extend(exc.problems)
        return []
    doc, yproblems = parse_strict(text, display)
    problems.extend(yproblems)
    if doc is None:
        return []
    if doc.data is None:
        return []  # an empty file is an empty list
    if not isinstance(doc.data, list):
        problems.append(
            ConfigProblem(
                display,
                doc.line(()),
                None,
                "the images file must be a YAML list of image references",
                expected="- registry/repo:tag",
                found="a map" if isinstance(doc.data, dict) else "a single value",
            )
        )
        return []
    out: list[ImageEntry] = []
    for i, item in enumerate(doc.data):
        line = doc.line((i,))
        if isinstance(item, str) and item.strip():
            out.append(ImageEntry(item.strip(), Location(display, line)))
        else:
            problems.append(
                ConfigProblem(
                    display,
                    line,
                    format_path((i,)),
                    "expected an image reference string",
                    found="an empty string" if isinstance(item, str) else type(item).__name__,
                )
            )
    return out
