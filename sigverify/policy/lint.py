"""Identity rules that accept too much: each warning names the rule, where it is written, and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sigverify.policy.model import Authority, Config, Pattern
from sigverify.policy.waivers import lint_waivers
from sigverify.policy.yamlstrict import KeyPath, YamlDoc, parse_strict

_ANY_RUN = re.compile(r"(?<!\\)\.[*+]")  # '.*' or '.+' (not '\.*')
_LEADING_ANY = re.compile(r"^(?:\(\?s:\.\*\)|\.\*|\.\+|\(\?:\.\*\))")
_META = set(".^$*+?{}[]()|\\")
_UNESCAPED_DOT_IN_HOST = re.compile(r"^(?:\^)?https?://[A-Za-z0-9-]+(?<!\\)\.[A-Za-z]")
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
    doc = _doc(config.path)
    if config.default == "allow":
        out.append(LintWarning(
            "DEFAULT_ALLOW", config.path, doc.line(("default",)) if doc else None, "config",
            "default: allow passes every image no policy matches, unverified",
            "write default: deny (or leave it out) and give those images a policy",
        ))
    for pi, policy in enumerate(config.policies):
        for ai, auth in enumerate(policy.authorities):
            where = f"policy {policy.name!r}, authority {auth.name!r}"
            out.extend(_authority(auth, where, config.path, doc, ("policies", pi, "authorities", ai)))
    for code, waiver, message, fix in lint_waivers(config):
        out.append(LintWarning(code, waiver.location.file, waiver.location.line, "waiver", message, fix))
    return sorted(out, key=lambda w: (w.file != config.path, w.line or 0))


def _doc(path: str) -> YamlDoc | None:
    """The config's YAML with its lines (it loaded, so it parses); None when it cannot be read again."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError:
        return None
    doc, problems = parse_strict(text, path)
    return doc if not problems else None


def _authority(auth: Authority, where: str, file: str, doc: YamlDoc | None, base: KeyPath) -> list[LintWarning]:
    out: list[LintWarning] = []
    path = auth.location.file or file

    def warn(code: str, message: str, fix: str, key: KeyPath = ()) -> None:
        line = doc.line((*base, *key)) if doc is not None and path == file else auth.location.line
        out.append(LintWarning(code, path, line, where, message, fix))

    if auth.keyless is None:
        return out
    if auth.tlog == "ignore":
        warn("TLOG_IGNORED", "tlog: ignore on a keyless authority: a Fulcio certificate lives ten minutes, and "
             "only the transparency-log proof shows the signature was made while it was valid",
             "remove tlog: ignore (sign with the log: cosign sign without --tlog-upload=false)", ("tlog",))
    issuer, subject = auth.keyless.issuer, auth.keyless.subject
    if not issuer.regexp and issuer.value.startswith("http://"):
        warn("HTTP_ISSUER", f"issuer {issuer.value} is plain http: its tokens could be forged in transit",
             f"issuer: https://{issuer.value[len('http://'):]}", ("keyless", "issuer"))
    if issuer.regexp:
        _regexp(issuer, "issuer", lambda c, m, f: warn(c, m, f, ("keyless", "issuer_regexp")), _FOREIGN_ISSUERS)
    if subject.regexp:
        _regexp(subject, "subject", lambda c, m, f: warn(c, m, f, ("keyless", "subject_regexp")), _FOREIGN_SUBJECTS)
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
