"""Load a sigverify YAML config into typed Config objects, collecting every problem with its file:line."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from sigverify.errors import ConfigError, ConfigProblem
from sigverify.policy.claims import CLAIM_OIDS, claim_oid
from sigverify.policy.globs import PatternError, glob_matcher, regexp_matcher
from sigverify.policy.model import (
    AttestationRequirement,
    Authority,
    BlobEntry,
    Config,
    ImageEntry,
    KeylessIdentity,
    KeyRef,
    Location,
    Matcher,
    Pattern,
    Policy,
    RegistrySettings,
)
from sigverify.policy.platforms import normalise_platform
from sigverify.policy.schemacheck import did_you_mean, schema_problems
from sigverify.policy.waivers import build_waivers, max_waiver_days
from sigverify.policy.yamlstrict import KeyPath, YamlDoc, format_path, parse_strict
from sigverify.reference import HostError, normalise_host

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_KEY_BYTES = 64 * 1024
COMMAND_LINE = "<command line>"
ERROR_TIP = (
    "Fix the problems listed above and run again; nothing was verified. "
    "The configuration format is described in README.md and in sigverify/policy/schema.json."
)

_HTTPS_PORT_SUFFIX = re.compile(r":0*443$")
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_FIELD_PATH = re.compile(r"[^.]+(?:\.[^.]+)*")
_NOTATION_PATHS = {"trust_store": "any", "tsa_store": "any", "trust_policy": "file", "trust_store_dir": "dir"}
_NOTATION_INLINE_ONLY = (
    "trust_store",
    "signing_authority",
    "tsa_store",
    "trusted_identities",
    "level",
    "overrides",
    "verify_timestamp",
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
        builder = _Builder(doc, filename, Path(os.path.abspath(base_dir)))
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


class _Builder:
    """Turns schema-shaped data into typed objects; runs the checks JSON Schema cannot express.

    Tolerant of shape errors (the schema reports those): anything malformed is skipped, never guessed.
    """

    def __init__(self, doc: YamlDoc, filename: str, base_dir: Path) -> None:
        self.doc = doc
        self.filename = filename
        self.base_dir = base_dir
        self.problems: list[ConfigProblem] = []

    # -- helpers ---------------------------------------------------------------------------------
    def err(
        self, path: KeyPath, message: str, *, key: bool = False, expected: str | None = None, found: str | None = None
    ) -> None:
        self.problems.append(
            ConfigProblem(self.filename, self.doc.line(path, key=key), format_path(path), message, expected, found)
        )

    def loc(self, path: KeyPath) -> Location:
        return Location(self.filename, self.doc.line(path))

    def resolve(self, value: str) -> Path:
        return Path(os.path.normpath(self.base_dir / os.path.expanduser(value)))

    def existing(self, path: KeyPath, value: str, kind: Literal["file", "dir", "any"], what: str) -> str | None:
        resolved = self.resolve(value)
        ok = resolved.is_file() if kind == "file" else resolved.is_dir() if kind == "dir" else resolved.exists()
        if not ok:
            expected = {
                "file": "an existing file",
                "dir": "an existing directory",
                "any": "an existing file or directory",
            }[kind]
            state = (
                "does not exist" if not resolved.exists() else f"is not a {'file' if kind == 'file' else 'directory'}"
            )
            self.err(path, f"{what} {value!r} {state} (resolved to {resolved})", expected=expected, found=str(resolved))
            return None
        return str(resolved)

    def regexp(self, path: KeyPath, expr: str) -> re.Pattern[str] | None:
        try:
            return re.compile(expr)
        except re.error as exc:
            self.err(
                path,
                f"invalid regular expression: {exc.msg} at position {exc.pos}",
                expected="a Python regular expression (matched against the whole string)",
                found=repr(expr),
            )
            return None

    # -- top level -------------------------------------------------------------------------------
    def config(self) -> Config | None:
        data = self.doc.data
        if not isinstance(data, dict):
            return None  # the schema reports it
        version = data.get("version")
        images = self.images(data.get("images"))
        registries = self.registries(data.get("registries"))
        policies = self.policies(data.get("policies"))
        default = data.get("default", "deny")
        if isinstance(data.get("policies"), list) and not data["policies"] and default == "deny":
            self.err(
                ("policies",),
                "no policies and default: deny: every image would fail",
                expected="at least one policy, or default: allow written explicitly",
            )
        trust_root = self.trust_root(data.get("trust_root", "embedded"))
        raw_policies = data.get("policies")
        names = (
            {p.get("name") for p in raw_policies if isinstance(p, dict)} if isinstance(raw_policies, list) else set()
        )
        files = self.files(data.get("files"), {n for n in names if isinstance(n, str)})
        images_from = self.images_from(data.get("images_from"))
        max_days = max_waiver_days(data.get("max_waiver_days"))
        waivers = build_waivers(self, data.get("waivers"), max_days)
        if default not in ("deny", "allow") or not isinstance(version, int):
            return None
        return Config(
            path=self.filename,
            version=version,
            images=images,
            policies=policies,
            registries=registries,
            default=cast(Literal["deny", "allow"], default),
            trust_root=trust_root,
            files=files,
            images_from=images_from,
            waivers=waivers,
            max_waiver_days=max_days,
        )

    def images_from(self, value: object) -> tuple[str, ...]:
        """Manifest files or directories (read by sigverify.sources when verifying); they must exist now."""
        if not isinstance(value, list):
            return ()
        out: list[str] = []
        for i, v in enumerate(value):
            if not isinstance(v, str) or not v:
                continue
            if v == "-":
                self.err(("images_from", i), "standard input ('-') can only be given on the command line "
                         "(--images-from -)", expected="a manifest file or directory, relative to the config file")
                continue
            resolved = self.existing(("images_from", i), v, "any", "images_from path")
            if resolved is not None:
                out.append(resolved)
        return tuple(out)

    def images(self, value: object) -> tuple[ImageEntry, ...]:
        if not isinstance(value, list):
            return ()
        return tuple(
            ImageEntry(v.strip(), self.loc(("images", i)))
            for i, v in enumerate(value)
            if isinstance(v, str) and v.strip()
        )

    def trust_root(self, value: object) -> str:
        if not isinstance(value, str) or value in ("embedded", "tuf") or not value:
            return value if isinstance(value, str) and value else "embedded"
        resolved = self.existing(("trust_root",), value, "file", "trust_root file")
        return resolved or value

    def registries(self, value: object) -> dict[str, RegistrySettings]:
        out: dict[str, RegistrySettings] = {}
        if not isinstance(value, dict):
            return out
        first: dict[str, str] = {}
        for host, settings in value.items():
            path: KeyPath = ("registries", host)
            try:
                name = normalise_host(host)
            except HostError as exc:
                if "/" not in host:  # a scheme or path is already reported by the schema check
                    tip = f"; tip: {exc.tip}" if exc.tip else ""
                    self.err(path, f"registry key {host!r} cannot be normalised: {exc.why}{tip}", key=True)
                continue
            if name in first:
                self.err(path, f"'{host}' and '{first[name]}' name the same registry ({name})", key=True)
                continue
            first[name] = host
            if not isinstance(settings, dict):
                continue
            if settings.get("insecure") is True and _HTTPS_PORT_SUFFIX.search(host):
                self.err((*path, "insecure"), f"'{host}' names port 443, the HTTPS port, which is dropped from "
                         f"registry names ({name}); an insecure registry is spoken to over plain HTTP",
                         expected="insecure: true only for a registry served over plain HTTP, with its port",
                         found=f"{host}: {{insecure: true}}")
            ca = settings.get("ca_file")
            ca_file = self.existing((*path, "ca_file"), ca, "file", "ca_file") if isinstance(ca, str) and ca else None
            insecure = settings.get("insecure", False)
            out[name] = RegistrySettings(
                insecure=insecure if isinstance(insecure, bool) else False,
                ca_file=ca_file,
                username_env=_str_or_none(settings.get("username_env")),
                password_env=_str_or_none(settings.get("password_env")),
            )
        return out

    def files(self, value: object, policy_names: set[str]) -> tuple[BlobEntry, ...]:
        out: list[BlobEntry] = []
        if not isinstance(value, list):
            return ()
        for i, entry in enumerate(value):
            path: KeyPath = ("files", i)
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue

            def res(k: str, e: dict[str, Any] = entry, where: KeyPath = path) -> str | None:
                v = e.get(k)
                if not isinstance(v, str) or not v:
                    return None
                if k == "path" and v.startswith("sha256:"):
                    return v
                if v.lower().startswith(("https://", "http://")):  # downloaded when verified
                    netloc = v.split("/", 3)[2]
                    if "@" in netloc or v.lower().startswith("http://"):
                        self.err((*where, k), "a signed file is downloaded over https, with no credentials",
                                 expected="https://host/path", found="http://" if "@" not in netloc else
                                 "credentials (user:password@) in the URL")
                    return v
                return str(self.resolve(v))

            pol = entry.get("policy")
            if isinstance(pol, str) and pol not in policy_names:
                self.err((*path, "policy"), f"unknown policy '{pol}'", expected=_one_of(sorted(policy_names)))
            out.append(
                BlobEntry(
                    path=res("path") or "",
                    bundle=res("bundle"),
                    signature=res("signature"),
                    certificate=res("certificate"),
                    policy=_str_or_none(pol),
                    location=self.loc(path),
                )
            )
        return tuple(out)

    # -- policies --------------------------------------------------------------------------------
    def policies(self, value: object) -> tuple[Policy, ...]:
        if not isinstance(value, list):
            return ()
        out: list[Policy] = []
        names: dict[str, int | None] = {}
        for i, pol in enumerate(value):
            path: KeyPath = ("policies", i)
            if not isinstance(pol, dict):
                continue
            name = pol.get("name")
            if isinstance(name, str):
                if name in names:
                    self.err((*path, "name"), f"duplicate policy name '{name}' (first used at line {names[name]})")
                else:
                    names[name] = self.doc.line((*path, "name"))
            built = self.policy(path, pol)
            if built is not None:
                out.append(built)
        return tuple(out)

    def policy(self, path: KeyPath, pol: dict[str, Any]) -> Policy | None:
        matchers = self.matchers((*path, "match"), pol.get("match"))
        authorities = self.authorities((*path, "authorities"), pol.get("authorities"))
        raw_auth = pol.get("authorities")
        threshold = pol.get("threshold", 1)
        if (
            isinstance(threshold, int)
            and not isinstance(threshold, bool)
            and threshold >= 1
            and isinstance(raw_auth, list)
            and raw_auth
            and threshold > len(raw_auth)
        ):
            self.err(
                (*path, "threshold"),
                f"threshold {threshold} is above the number of authorities ({len(raw_auth)}): no image could ever pass",
                expected=f"1 to {len(raw_auth)}",
                found=str(threshold),
            )
        auth_names = [a.get("name") for a in raw_auth if isinstance(a, dict)] if isinstance(raw_auth, list) else []
        attestations = self.attestations(
            (*path, "attestations"), pol.get("attestations"), [n for n in auth_names if isinstance(n, str)]
        )
        name, mode = pol.get("name"), pol.get("mode", "enforce")
        platforms = self.platforms((*path, "platforms"), pol.get("platforms", "index"))
        if (
            platforms is None
            or not isinstance(name, str)
            or mode not in ("enforce", "warn")
            or not isinstance(threshold, int)
            or matchers is None
            or authorities is None
            or attestations is None
        ):
            return None
        return Policy(
            name=name,
            match=matchers,
            authorities=authorities,
            location=self.loc(path),
            mode=cast(Literal["enforce", "warn"], mode),
            threshold=threshold,
            attestations=attestations,
            platforms=platforms,
            require_digest=pol.get("require_digest") is True,
        )

    def platforms(self, path: KeyPath, value: object) -> str | tuple[str, ...] | None:
        """``index``, ``all``, or a list of ``os/arch[/variant]`` in one spelling (each once)."""
        if value in ("index", "all"):
            return value
        if not isinstance(value, list) or not value:
            return None  # the schema reports it
        out: dict[str, int] = {}
        for i, item in enumerate(value):
            name = normalise_platform(item) if isinstance(item, str) else None
            if name is None:
                self.err((*path, i), f"not a platform: {item!r}", expected="os/arch or os/arch/variant in lower "
                         "case, e.g. linux/amd64, linux/arm64, linux/arm/v7", found=str(item))
                return None
            if name in out:
                self.err((*path, i), f"platform {item!r} is listed twice (as {value[out[name]]!r})",
                         expected="each platform once", found=str(item))
                return None
            out[name] = i
        return tuple(out)

    def matchers(self, path: KeyPath, value: object) -> tuple[Matcher, ...] | None:
        if not isinstance(value, list) or not value:
            return None
        out: list[Matcher] = []
        ok = True
        for i, item in enumerate(value):
            ipath: KeyPath = (*path, i)
            if isinstance(item, str):
                try:
                    out.append(glob_matcher(item, str(self.base_dir)))
                except PatternError as exc:
                    tip = f"; tip: {exc.tip}" if exc.tip else ""
                    self.err(ipath, f"bad image pattern {item!r}: {exc.message}{tip}")
                    ok = False
            elif isinstance(item, dict) and isinstance(item.get("regexp"), str):
                rpath = (*ipath, "regexp")
                if self.regexp(rpath, item["regexp"]) is None:
                    ok = False
                else:
                    try:
                        out.append(regexp_matcher(item["regexp"]))
                    except PatternError as exc:
                        tip = f"; tip: {exc.tip}" if exc.tip else ""
                        self.err(rpath, f"bad image regexp {item['regexp']!r}: {exc.message}{tip}")
                        ok = False
            else:
                ok = False
        return tuple(out) if ok else None

    # -- authorities -----------------------------------------------------------------------------
    def authorities(self, path: KeyPath, value: object) -> tuple[Authority, ...] | None:
        if not isinstance(value, list) or not value:
            return None
        out: list[Authority] = []
        names: dict[str, int | None] = {}
        ok = True
        for i, auth in enumerate(value):
            apath: KeyPath = (*path, i)
            if not isinstance(auth, dict):
                ok = False
                continue
            name = auth.get("name")
            if isinstance(name, str):
                if name in names:
                    self.err(
                        (*apath, "name"),
                        f"duplicate authority name '{name}' in this policy (first used at line {names[name]})",
                    )
                    ok = False
                else:
                    names[name] = self.doc.line((*apath, "name"))
            built = self.authority(apath, auth)
            if built is None:
                ok = False
            else:
                out.append(built)
        if ok:
            ok = self.distinct_signers(path, value, out)
        return tuple(out) if ok else None

    def distinct_signers(self, path: KeyPath, value: list[Any], built: list[Authority]) -> bool:
        """Two authorities of one policy that trust the same signer are an error at the second one's key line."""
        from sigverify.policy.signers import duplicate_signers

        dupes = duplicate_signers(built)
        for _, i, message in dupes:
            kind = next(k for k in ("key", "keyless", "notation") if k in value[i])
            sub = value[i][kind]
            where: KeyPath = (*path, i, kind, *(list(sub)[:1] if kind == "key" and isinstance(sub, dict) else []))
            self.err(where, message, key=True, expected="each authority of a policy trusting another signer")
        return not dupes

    def authority(self, path: KeyPath, auth: dict[str, Any]) -> Authority | None:
        kinds = [k for k in ("key", "keyless", "notation") if k in auth]
        key = self.key((*path, "key"), auth["key"]) if "key" in auth else None
        keyless = self.keyless((*path, "keyless"), auth["keyless"]) if "keyless" in auth else None
        notation = self.notation((*path, "notation"), auth["notation"]) if "notation" in auth else None
        annotations = auth.get("annotations", {})
        name, tlog = auth.get("name"), auth.get("tlog", "require")
        if kinds == ["notation"]:
            # Silently ignoring these would make a requirement the user wrote disappear.
            if "annotations" in auth:
                self.err(
                    (*path, "annotations"),
                    "annotations apply to cosign signatures, not to notation ones",
                    key=True,
                    expected="notation.metadata: {...} for signed user metadata (notation sign -m)",
                )
            if "tlog" in auth:
                self.err(
                    (*path, "tlog"),
                    "tlog does not apply to notation signatures (they are not logged)",
                    key=True,
                    expected="no tlog key on a notation authority",
                )
        if (
            len(kinds) != 1
            or not isinstance(name, str)
            or tlog not in ("require", "ignore")
            or not isinstance(annotations, dict)
            or not all(isinstance(v, str) for v in annotations.values())
            or (key is None and keyless is None and notation is None)
        ):
            return None
        return Authority(
            name=name,
            location=self.loc(path),
            key=key,
            keyless=keyless,
            notation=notation,
            tlog=cast(Literal["require", "ignore"], tlog),
            annotations=dict(annotations),
        )

    def key(self, path: KeyPath, value: object) -> KeyRef | None:
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((kind, arg),) = value.items()
        if not isinstance(arg, str) or not arg:
            return None
        kpath: KeyPath = (*path, kind)
        if kind == "kms":
            return self.kms(kpath, arg)
        if kind == "path":
            resolved = self.resolve(arg)
            what = f"key file {arg!r}"
            try:
                if resolved.stat().st_size > MAX_KEY_BYTES:
                    self.err(kpath, f"{what} is larger than {MAX_KEY_BYTES // 1024} KiB: not a public key file")
                    return None
                data = resolved.read_bytes()
            except FileNotFoundError:
                self.err(
                    kpath,
                    f"{what} does not exist (resolved to {resolved})",
                    expected="a PEM public key file, relative to the config file's directory",
                )
                return None
            except IsADirectoryError:
                self.err(kpath, f"{what} is a directory (resolved to {resolved})", expected="a PEM public key file")
                return None
            except OSError as exc:
                self.err(kpath, f"{what} cannot be read: {exc.strerror} (resolved to {resolved})")
                return None
            source = f"path:{arg}"
        elif kind == "pem":
            what, data, source = "the inline pem", arg.encode("utf-8"), "inline pem"
        elif kind == "env":
            what, source = f"environment variable {arg}", f"env:{arg}"
            env_value = os.environ.get(arg)
            if env_value is None:
                self.err(kpath, f"{what} is not set", expected=f"{arg} to hold a PEM public key", found="not set")
                return None
            if not env_value.strip():
                self.err(kpath, f"{what} is empty", expected=f"{arg} to hold a PEM public key", found="empty")
                return None
            data = env_value.encode("utf-8")
        else:
            return None
        problem = pem_public_key_problem(data)
        if problem is not None:
            message, tip = problem
            self.err(
                kpath,
                f"{what} does not hold a usable public key: found {message}" + (f"; tip: {tip}" if tip else ""),
                expected="a PEM public key (-----BEGIN PUBLIC KEY-----)",
            )
            return None
        return KeyRef(source=source, pem=data)

    def kms(self, path: KeyPath, uri: str) -> KeyRef | None:
        """Check a key URI's grammar and scheme now (no network): sigverify.kms owns the rules."""
        from sigverify.errors import KeyMaterialError
        from sigverify.kms import check_uri

        try:
            check_uri(uri)
        except KeyMaterialError as exc:
            tip = f"; tip: {exc.tip}" if exc.tip else ""
            self.err(path, f"{exc.message}{tip}", expected=exc.expected, found=exc.found)
            return None
        return KeyRef(source=f"kms:{uri}", kms=uri)

    def keyless(self, path: KeyPath, value: object) -> KeylessIdentity | None:
        if not isinstance(value, dict):
            return None
        issuer = self.pattern(path, value, "issuer")
        subject = self.pattern(path, value, "subject")
        claims: dict[str, Pattern] = {}
        ok = True
        raw = value.get("claims", {})
        seen: dict[str, str] = {}
        if isinstance(raw, dict):
            for name, expected in raw.items():
                cpath: KeyPath = (*path, "claims", name)
                oid = claim_oid(name)
                if oid is None:
                    hint = did_you_mean(name, list(CLAIM_OIDS))
                    self.err(
                        cpath,
                        f"unknown claim '{name}'{hint}",
                        key=True,
                        expected="a Fulcio extension name ("
                        + ", ".join(CLAIM_OIDS)
                        + ") or an OID 1.3.6.1.4.1.57264.1.N",
                    )
                    ok = False
                    continue
                if oid in seen:
                    self.err(cpath, f"claim '{name}' is the same extension as '{seen[oid]}' ({oid})", key=True)
                    ok = False
                    continue
                seen[oid] = name
                if isinstance(expected, str):
                    claims[name] = Pattern(expected)
                elif isinstance(expected, dict) and isinstance(expected.get("regexp"), str):
                    if self.regexp((*cpath, "regexp"), expected["regexp"]) is None:
                        ok = False
                    else:
                        claims[name] = Pattern(expected["regexp"], regexp=True)
                else:
                    ok = False
        if issuer is None or subject is None or not ok:
            return None
        return KeylessIdentity(issuer=issuer, subject=subject, claims=claims)

    def pattern(self, path: KeyPath, value: Mapping[str, Any], field: str) -> Pattern | None:
        exact, rx = value.get(field), value.get(f"{field}_regexp")
        if isinstance(exact, str) and exact and rx is None:
            return Pattern(exact)
        if isinstance(rx, str) and rx and exact is None:
            return Pattern(rx, regexp=True) if self.regexp((*path, f"{field}_regexp"), rx) else None
        return None

    def notation(self, path: KeyPath, value: object) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        out: dict[str, Any] = dict(value)
        ok = True
        if "trust_policy" in value:
            extra = [k for k in _NOTATION_INLINE_ONLY if k in value]
            for k in extra:
                self.err(
                    (*path, k),
                    f"'{k}' cannot be combined with trust_policy: the trust policy file and trust_store_dir define it",
                    key=True,
                )
                ok = False
        overrides = value.get("overrides")
        if isinstance(overrides, dict) and "integrity" in overrides and overrides["integrity"] != "enforce":
            self.err(
                (*path, "overrides", "integrity"),
                "integrity cannot be overridden: the Notary Project specification always enforces it",
                expected="enforce (or leave it out)",
                found=str(overrides["integrity"]),
            )
            ok = False
        for k, kind in _NOTATION_PATHS.items():
            v = value.get(k)
            if isinstance(v, str) and v:
                resolved = self.existing((*path, k), v, cast(Literal["file", "dir", "any"], kind), k)
                if resolved is None:
                    ok = False
                else:
                    out[k] = resolved
        return out if ok else None

    # -- attestations ----------------------------------------------------------------------------
    def attestations(
        self, path: KeyPath, value: object, authority_names: list[str]
    ) -> tuple[AttestationRequirement, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            return None
        out: list[AttestationRequirement] = []
        ok = True
        for i, att in enumerate(value):
            apath: KeyPath = (*path, i)
            if not isinstance(att, dict):
                ok = False
                continue
            names = att.get("authorities")
            if isinstance(names, list):
                for j, n in enumerate(names):
                    if isinstance(n, str) and n not in authority_names:
                        hint = did_you_mean(n, authority_names)
                        self.err(
                            (*apath, "authorities", j),
                            f"unknown authority '{n}' in this policy{hint}",
                            expected=_one_of(authority_names),
                        )
                        ok = False
            conditions = self.conditions((*apath, "conditions"), att.get("conditions", []))
            ptype = att.get("predicate_type")
            name = att.get("name", ptype)
            if (
                conditions is None
                or not isinstance(ptype, str)
                or not isinstance(name, str)
                or not isinstance(names, list)
                or not all(isinstance(n, str) for n in names)
            ):
                ok = False
                continue
            out.append(
                AttestationRequirement(
                    name=name,
                    predicate_type=ptype,
                    authorities=tuple(names),
                    conditions=conditions,
                    location=self.loc(apath),
                )
            )
        return tuple(out) if ok else None

    def conditions(self, path: KeyPath, value: object) -> tuple[Mapping[str, Any], ...] | None:
        if not isinstance(value, list):
            return None
        ok = True
        for i, cond in enumerate(value):
            cpath: KeyPath = (*path, i)
            if not isinstance(cond, dict):
                ok = False
                continue
            rx = cond.get("regexp")
            if isinstance(rx, str) and self.regexp((*cpath, "regexp"), rx) is None:
                ok = False
            field = cond.get("field")
            if isinstance(field, str) and not _FIELD_PATH.fullmatch(field):
                self.err(
                    (*cpath, "field"),
                    "malformed field path",
                    expected="dot-separated keys in the predicate (list indexes as numbers), "
                    "e.g. buildDefinition.buildType",
                    found=repr(field),
                )
                ok = False
            expr = cond.get("jmespath")
            if isinstance(expr, str):
                problem = jmespath_problem(expr)
                if problem:
                    self.err((*cpath, "jmespath"), f"invalid JMESPath expression: {problem}", found=repr(expr))
                    ok = False
        return tuple(dict(c) for c in value if isinstance(c, dict)) if ok else None


def pem_public_key_problem(data: bytes) -> tuple[str, str | None] | None:
    """None if ``data`` is a usable PEM public key; else (what was found, tip). Never echoes the data."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from sigverify.crypto.keys import key_type_problem

    labels = [m.decode("ascii") for m in _PEM_LABEL.findall(data)]
    private = [label for label in labels if "PRIVATE KEY" in label]
    if private:
        return (
            f"a private key ({private[0]})",
            "a policy needs only the public key: export it (cosign public-key --key cosign.key) "
            "and keep the private key out of the repository",
        )
    if not labels:
        return (
            f"no PEM block ({len(data)} bytes of other data)",
            "a DER key converts with: openssl pkey -pubin -inform DER -in key.der -out key.pub",
        )
    if labels[0] == "CERTIFICATE":
        return (
            "a certificate, not a public key",
            "for certificates use a keyless or notation authority, or extract the key: "
            "openssl x509 -pubkey -noout -in cert.pem",
        )
    if labels[0] not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        return f"a PEM block of type {labels[0]}", None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return f"a {labels[0]} block that cannot be parsed (damaged base64 or DER)", None
    problem = key_type_problem(key)  # the verifiers' rules (crypto/keys.py), worded for the config file
    if problem is None:
        return None
    if problem.kind == "curve":
        return f"an ECDSA key on curve {problem.found}", "cosign keys use P-256, P-384 or P-521"
    if problem.kind == "rsa_bits":
        return f"a {problem.found}-bit RSA key", "RSA keys must have at least 2048 bits"
    return f"an unsupported key type ({problem.found})", "use an ECDSA, RSA or Ed25519 key"


def jmespath_problem(expr: str) -> str | None:
    """The parse error of a JMESPath expression, or None (also None when jmespath is not installed)."""
    try:
        jmespath: Any = importlib.import_module("jmespath")
    except ImportError:
        return None
    try:
        jmespath.compile(expr)
    except Exception as exc:  # jmespath raises its own ParseError/LexerError hierarchy
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _one_of(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    return "one of: " + ", ".join(items) if items else "(none defined)"


def _str_or_none(v: object) -> str | None:
    return v if isinstance(v, str) else None
