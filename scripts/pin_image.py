"""Pin the released image by digest in the GitLab template, the CI/CD component and the Jenkinsfile.

    python3 scripts/pin_image.py --image ghcr.io/OWNER/sigverify --version 1.2.3 --digest sha256:<64 hex>

Rewrites the quoted image reference on each line marked ``sigverify-release: pin by digest`` (after ``#`` or
``//``) to ``IMAGE:VERSION@DIGEST``. Every file must have exactly one such line. Exit 0 done, 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

FILES = ("gitlab-ci-template.yml", "templates/sigverify.yml", "examples/Jenkinsfile")
MARKER = "sigverify-release: pin by digest"
_LINE = re.compile(
    r"""^(?P<head>.*?)(?P<q>["'])(?P<ref>[^"'\s]+)(?P=q)(?P<tail>\s*(?:#|//)\s*""" + re.escape(MARKER) + r"\s*)$"
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+")
_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class PinError(ValueError):
    """Bad input or a file without exactly one marked line (exit 2)."""


def pin_text(text: str, name: str, reference: str) -> str:
    """``text`` with the one marked line's quoted image reference replaced by ``reference``."""
    lines = text.split("\n")
    marked = [i for i, line in enumerate(lines) if MARKER in line]
    if len(marked) != 1:
        raise PinError(f"{name}: expected exactly one line marked `{MARKER}`, found {len(marked)}")
    (i,) = marked
    m = _LINE.match(lines[i])
    if m is None:
        raise PinError(f"{name}:{i + 1}: the marked line has no quoted image reference before the marker")
    lines[i] = f"{m['head']}{m['q']}{reference}{m['q']}{m['tail']}"
    return "\n".join(lines)


def reference(image: str, version: str, digest: str) -> str:
    if not _IMAGE.fullmatch(image):
        raise PinError(f"--image {image!r}: expected a repository like ghcr.io/owner/sigverify (no tag, no digest)")
    if not _VERSION.fullmatch(version):
        raise PinError(f"--version {version!r}: expected a tag like 1.2.3")
    if not _DIGEST.fullmatch(digest):
        raise PinError(f"--digest {digest!r}: expected sha256: and 64 lower-case hex digits")
    return f"{image}:{version}@{digest}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--digest", required=True)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    try:
        ref = reference(args.image, args.version.removeprefix("v"), args.digest)
        new = {name: pin_text((args.root / name).read_text(), name, ref) for name in FILES}  # all or nothing
    except (PinError, OSError) as exc:
        sys.stderr.write(f"pin_image: error: {exc}\n")
        return 2
    for name, text in new.items():
        (args.root / name).write_text(text)
        print(f"pin_image: {name} -> {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
