"""Registry credentials: environment variables named in the config, docker config.json, credential helpers."""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.reference import HostError, normalise_host

if TYPE_CHECKING:
    from sigverify.policy.model import RegistrySettings

DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
HELPER_TIMEOUT = 30.0
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Credential:
    """A username/password pair or an identity (refresh) token. ``source`` says where it came from (no secret)."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def canonical_host(host: str) -> str:
    """The normal form of a registry host (as references are written), so `auths` keys like ``host:443`` match."""
    try:
        host = normalise_host(host)
    except HostError:  # a config.json key that names no registry: compared as written, lowercased
        host = host.lower()
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def _config_key_host(key: str) -> str:
    """The host of a config.json `auths`/`credHelpers` key (which may be a URL like https://host/v1/)."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0]
    return canonical_host(k)


class Keychain:
    """Finds credentials for a registry host. Lookups are cached per host; helpers run at most once per host.

    Order: ``username_env``/``password_env`` of the registry's settings, then docker config.json:
    ``credHelpers[host]``, ``credsStore``, then ``auths[host]``. Nothing found means anonymous.
    """

    def __init__(
        self,
        settings: Mapping[str, RegistrySettings],
        *,
        env: Mapping[str, str] | None = None,
        docker_config_dir: str | None = None,
    ) -> None:
        self._settings = {canonical_host(k): v for k, v in settings.items()}
        self._env = dict(os.environ if env is None else env)
        if docker_config_dir is None:
            docker_config_dir = self._env.get("DOCKER_CONFIG") or os.path.join(
                self._env.get("HOME") or os.path.expanduser("~"), ".docker"
            )
        self.config_path = os.path.join(docker_config_dir, "config.json")
        self._config: dict[str, object] | None = None
        self._cache: dict[str, Credential | None] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def get(self, host: str) -> Credential | None:
        key = canonical_host(host)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            cred = self._lookup(key)
            with self._lock:
                self._cache[key] = cred
            return cred

    # -- sources --------------------------------------------------------------------------------------------

    def _lookup(self, host: str) -> Credential | None:
        cred = self._from_env(host)
        if cred is not None:
            return cred
        return self._from_docker_config(host)

    def _from_env(self, host: str) -> Credential | None:
        settings = self._settings.get(host)
        if settings is None or (settings.username_env is None and settings.password_env is None):
            return None
        names = [n for n in (settings.username_env, settings.password_env) if n is not None]
        missing = [n for n in names if not self._env.get(n)]
        if missing or settings.username_env is None or settings.password_env is None:
            raise RegistryError(
                f"credentials for {host}: environment variable(s) {', '.join(missing) or '(unset)'} "
                "named in the config are not set",
                code=Code.AUTH_ERROR,
                expected="both username_env and password_env set and non-empty",
                tip="Export the variables in the CI job (as masked secrets) or remove them from `registries:`.",
            )
        return Credential(
            username=self._env[settings.username_env],
            password=self._env[settings.password_env],
            source=f"environment ({settings.username_env}/{settings.password_env})",
        )

    def _load_config(self) -> dict[str, object]:
        with self._lock:
            if self._config is not None:
                return self._config
        config: dict[str, object] = {}
        try:
            with open(self.config_path, "rb") as fh:
                raw = fh.read(MAX_CONFIG_BYTES + 1)
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            raise RegistryError(
                f"cannot read docker config {self.config_path}: {exc.strerror}",
                code=Code.AUTH_ERROR,
                tip="Fix the file's permissions or point DOCKER_CONFIG at another directory.",
            ) from None
        if raw:
            try:
                obj = loads_strict(raw, what="config.json", max_bytes=MAX_CONFIG_BYTES)
            except PayloadError as exc:
                raise RegistryError(
                    f"docker config {self.config_path} is not valid JSON ({exc.message})",
                    code=Code.AUTH_ERROR,
                    tip="Fix the file, or point DOCKER_CONFIG at a directory with a valid config.json.",
                ) from None
            if isinstance(obj, dict):
                config = obj
        with self._lock:
            self._config = config
        return config

    def _from_docker_config(self, host: str) -> Credential | None:
        config = self._load_config()
        server = DOCKER_HUB_KEY if host == "docker.io" else host
        helpers = config.get("credHelpers")
        if isinstance(helpers, dict):
            for key, helper in helpers.items():
                if isinstance(key, str) and isinstance(helper, str) and _config_key_host(key) == host:
                    return self._run_helper(helper, server, host)
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            cred = self._run_helper(store, server, host)
            if cred is not None:
                return cred
        auths = config.get("auths")
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if isinstance(key, str) and isinstance(entry, dict) and _config_key_host(key) == host:
                    cred = self._from_auth_entry(entry, host)
                    if cred is not None:
                        return cred
        return None

    def _from_auth_entry(self, entry: Mapping[str, object], host: str) -> Credential | None:
        source = f"{self.config_path} auths[{host}]"
        identity = entry.get("identitytoken")
        username, password = entry.get("username"), entry.get("password")
        auth = entry.get("auth")
        if isinstance(auth, str) and auth:
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise RegistryError(
                    f"docker config {self.config_path}: `auth` for {host} is not base64 of user:password",
                    code=Code.AUTH_ERROR,
                    tip=f"Run `docker login {host}` again or fix the entry.",
                ) from None
            if ":" not in decoded:
                raise RegistryError(
                    f"docker config {self.config_path}: `auth` for {host} has no ':' separator",
                    code=Code.AUTH_ERROR,
                    tip=f"Run `docker login {host}` again or fix the entry.",
                )
            username, password = decoded.split(":", 1)
        if isinstance(identity, str) and identity:
            return Credential(
                username=username if isinstance(username, str) else "",
                identity_token=identity,
                source=source,
            )
        if isinstance(username, str) and isinstance(password, str) and (username or password):
            return Credential(username=username, password=password, source=source)
        return None

    def _run_helper(self, name: str, server: str, host: str) -> Credential | None:
        if _HELPER_NAME.fullmatch(name) is None:
            raise RegistryError(
                f"docker config {self.config_path}: invalid credential helper name {name!r}",
                code=Code.AUTH_ERROR,
            )
        program = f"docker-credential-{name}"
        import shutil
        import subprocess

        path = shutil.which(program, path=self._env.get("PATH", os.defpath))
        if path is None:
            raise RegistryError(
                f"credential helper `{program}` (configured for {host} in {self.config_path}) is not on PATH",
                code=Code.AUTH_ERROR,
                tip=f"Install {program}, or remove it from credHelpers/credsStore.",
            )
        try:
            proc = subprocess.run(
                [path, "get"],
                input=server.encode(),
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                env=self._env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RegistryError(
                f"credential helper `{program}` failed for {host}: {type(exc).__name__}",
                code=Code.AUTH_ERROR,
            ) from None
        out = proc.stdout.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            if (
                "credentials not found" in out.lower()
                or "credentials not found" in proc.stderr.decode("utf-8", "replace").lower()
            ):
                return None
            raise RegistryError(
                f"credential helper `{program}` failed for {host} (exit status {proc.returncode})",
                code=Code.AUTH_ERROR,
                tip=f"Run `echo {server} | {program} get` to see its error.",
            )
        try:
            obj = loads_strict(out, what="credential helper answer", max_bytes=1024 * 1024)
        except PayloadError:
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("Secret"), str):
            raise RegistryError(
                f"credential helper `{program}` returned an unexpected answer for {host}",
                code=Code.AUTH_ERROR,
                expected='{"ServerURL": ..., "Username": ..., "Secret": ...}',
            )
        username = obj.get("Username") if isinstance(obj.get("Username"), str) else ""
        assert isinstance(username, str)
        secret: str = obj["Secret"]
        source = f"credential helper {program}"
        if username == "<token>":
            return Credential(identity_token=secret, source=source)
        return Credential(username=username, password=secret, source=source)
