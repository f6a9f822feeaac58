"""The top level of a config: images, registries, policies, files, trust root, images_from and waivers."""

from __future__ import annotations

import re
from typing import Any, Literal, cast

from sigverify.policy.builder import one_of, str_or_none
from sigverify.policy.model import BlobEntry, Config, ImageEntry, RegistrySettings
from sigverify.policy.policies import PoliciesBuilder
from sigverify.policy.waivers import build_waivers, max_waiver_days
from sigverify.policy.yamlstrict import KeyPath
from sigverify.reference import HostError, normalise_host

_HTTPS_PORT_SUFFIX = re.compile(r":0*443$")


class ConfigBuilder(PoliciesBuilder):
    """The whole config file: every section, built in the order its problems are reported."""

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
                username_env=str_or_none(settings.get("username_env")),
                password_env=str_or_none(settings.get("password_env")),
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
                self.err((*path, "policy"), f"unknown policy '{pol}'", expected=one_of(sorted(policy_names)))
            out.append(
                BlobEntry(
                    path=res("path") or "",
                    bundle=res("bundle"),
                    signature=res("signature"),
                    certificate=res("certificate"),
                    policy=str_or_none(pol),
                    location=self.loc(path),
                )
            )
        return tuple(out)
