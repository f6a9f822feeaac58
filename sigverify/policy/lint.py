"""Identity rules that accept too much: each warning names the rule, where it is written, and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sigverify.policy.model import Authority, Config, Pattern

_ANY_RUN = re.compile(r"(?<!\\)\.[*+]")  # '.*' or '.+' (not '\.*')
_LEADING_ANY = re.compile(r"^(?:\(\?s:\.\*\)|\.\*|\.\+|\(\?:\.\*\))")
_META = set(".^$*+?{}[]()|\\")
_UNESCAPED_DOT_IN_HOST = re.compile(r"^(?:\^)?https?://[A-Za-z0-9-]+(?<!\\)\.[A-Za-z]")
_DEFAULT_ALLOW = re.compile(r"^default:\s*[\"']?allow\b", re.MULTILINE)
# Identities an attacker can obtain (any GitHub repository, any e-mail account): a subject rule must reject them.
_FOREIGN_SUBJECTS = (
    "https://github.com/attacker/fork/.github/workflows/release.yml@refs/heads/main",
    "attacker@example.net",
)
_FOREIGN_ISSUERS = ("https://attacker.example/oidc", "https://token.actions.githubusercontent.com.attacker.example")


@dataclass(frozen=True)
class LintWarning:
    """One rule that accepts too much."""

    code: str
    file: str
    line: int | None
    where: str  # policy / authority
    message: str
    fix: str

    def render(self) -> str:
        loc = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{loc}: {self.where}: {self.code}: {self.message}\n    fix: {self.fix}"


def lint(config: Config) -> list[LintWarning]:
    """Every warning for ``config``, in file order."""
    out: list[LintWarning] = []
    if config.default == "allow":
        out.append(LintWarning(
            "DEFAULT_ALLOW", config.path, _default_line(config.path), "config",
            "default: allow passes every image no policy matches, unverified",
            "write default: deny (or leave it out) and give those images a policy",
        ))
    for policy in config.policies:
        for auth in policy.authorities:
            where = f"policy {policy.name!r}, authority {auth.name!r}"
            out.extend(_authority(auth, where, config.path))
    return sorted(out, key=lambda w: (w.file != config.path, w.line or 0))


def _authority(auth: Authority, where: str, file: str) -> list[LintWarning]:
    out: list[LintWarning] = []
    line = auth.location.line
    path = auth.location.file or file

    def warn(code: str, message: str, fix: str) -> None:
        out.append(LintWarning(code, path, line, where, message, fix))

    if auth.keyless is None:
        return out
    if auth.tlog == "ignore":
        warn("TLOG_IGNORED", "tlog: ignore on a keyless authority: a Fulcio certificate lives ten minutes, and "
             "only the transparency-log proof shows the signature was made while it was valid",
             "remove tlog: ignore (sign with the log: cosign sign without --tlog-upload=false)")
    issuer, subject = auth.keyless.issuer, auth.keyless.subject
    if not issuer.regexp and issuer.value.startswith("http://"):
        warn("HTTP_ISSUER", f"issuer {issuer.value} is plain http: its tokens could be forged in transit",
             f"issuer: https://{issuer.value[len('http://'):]}")
    if issuer.regexp:
        _regexp(issuer, "issuer", warn, _FOREIGN_ISSUERS)
    if subject.regexp:
        _regexp(subject, "subject", warn, _FOREIGN_SUBJECTS)
    return out


def _literal(expr: str) -> str | None:
    """The one string a regexp matches when it is a plain literal (escapes only), else None."""
    out, i = [], 0
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and i + 1 < len(expr) and not expr[i + 1].isalnum():
            out.append(expr[i + 1])
            i += 2
            continue
        if ch in _META:
            return None
        out.append(ch)
        i += 1
    return "".join(out)


def _regexp(p: Pattern, field: str, w: Callable[[str, str, str], None], foreign: tuple[str, ...]) -> None:
    expr = p.value.removeprefix("(?a)")  # an ASCII-only flag (imported Go regexps) changes nothing below
    key = f"{field}_regexp"
    literal = _literal(expr.removeprefix("^").removesuffix("$"))
    if literal is not None:
        w("REGEXP_COULD_BE_EXACT", f"{key} '{expr}' matches exactly one {field}",
          f"{field}: {literal}  (an exact match, no regexp)")
        return
    compiled = re.compile(expr)
    accepted = [s for s in foreign if compiled.fullmatch(s)]
    if accepted:
        w("REGEXP_ACCEPTS_ANY", f"{key} '{expr}' accepts {field}s anyone can obtain, e.g. {accepted[0]!r}",
          f"write the exact {field}, or a regexp that names it: "
          + ("issuer: https://token.actions.githubusercontent.com" if field == "issuer" else
             r"subject_regexp: https://github\.com/ORG/REPO/\.github/workflows/release\.yml@refs/tags/v[0-9.]+"))
        return
    if _LEADING_ANY.match(expr):
        w("REGEXP_UNANCHORED", f"{key} '{expr}' starts with '.*': any text may come before what it names, "
          "e.g. another host or repository whose URL ends with it",
          f"start the regexp with the literal beginning of the {field} (https://...)")
    elif _ANY_RUN.search(expr):
        w("REGEXP_DOT_STAR", f"{key} '{expr}' contains '.*', which also matches '/' and '@': other repositories, "
          "workflows or refs fit in it",
          "replace '.*' with the narrowest class that fits, e.g. [^/@]+ for one path segment or [0-9.]+ for a "
          "version")
    if field == "issuer":
        w("REGEXP_ISSUER", f"issuer_regexp '{expr}': an OIDC issuer is one fixed URL",
          "issuer: <the exact URL>, one authority per issuer")
    if _UNESCAPED_DOT_IN_HOST.match(expr):
        w("REGEXP_UNESCAPED_DOT", f"{key} '{expr}' has an unescaped '.' in the host, which matches any character",
          "escape it: \\.")
    if "http://" in expr or "https?" in expr:
        w("HTTP_ISSUER" if field == "issuer" else "REGEXP_HTTP", f"{key} '{expr}' accepts plain http",
          "accept https:// only")


def _default_line(path: str) -> int | None:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    m = _DEFAULT_ALLOW.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None
