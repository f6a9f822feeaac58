"""Trust material loaded lazily once per run: the Sigstore trusted root (embedded, file, or TUF)."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigverify.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
_EMBEDDED_DIR = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
_TRUSTED_ROOT_MEDIA_TYPES = (
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
)
MAX_TRUSTED_ROOT_BYTES = 8 * 1024 * 1024


class TrustRootError(ConfigError):
    """The trusted root cannot be found, read or parsed: a configuration error (exit code 2)."""

    code = "TRUST_ROOT_ERROR"


@dataclass(frozen=True)
class TlogKey:
    """One transparency-log (or CT-log) key from a trusted root.

    ``log_id`` is lowercase hex of ``logId.keyId`` (for Rekor v1: SHA-256 of the key's SPKI DER).
    ``valid_from``/``valid_until`` bound the times the key may have signed (inclusive; None = open).
    """

    log_id: str
    public_key: PublicKeyTypes
    der: bytes
    key_details: str
    base_url: str
    valid_from: _dt.datetime | None
    valid_until: _dt.datetime | None

    def valid_at(self, when: _dt.datetime) -> bool:
        if self.valid_from is not None and when < self.valid_from:
            return False
        return not (self.valid_until is not None and when > self.valid_until)

    @property
    def validity(self) -> str:
        start = self.valid_from.isoformat() if self.valid_from else "-inf"
        end = self.valid_until.isoformat() if self.valid_until else "open"
        return f"[{start}, {end}]"


def _parse_time(value: Any, where: str) -> _dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where} is not an RFC 3339 string")
    t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t


class TrustStore:
    """The Sigstore trusted root for one run, parsed on first use and shared by every verifier (thread-safe).

    ``spec`` is ``embedded`` (the production root shipped in sigstore-python, works offline), ``tuf`` (refresh
    from the Sigstore TUF repository; needs network, refused when ``offline``) or a trusted_root.json path.
    """

    def __init__(self, spec: str = "embedded", *, offline: bool = True) -> None:
        self.spec = spec
        self.offline = offline
        self._lock = threading.Lock()
        self._root: dict[str, Any] | None = None
        self._path: str | None = None
        self._label: str | None = None
        self._tlogs: list[TlogKey] | None = None
        self._ctlogs: list[TlogKey] | None = None
        self.skipped: list[str] = []  # keys of types we cannot use (reported, never trusted)

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """Human description, e.g. ``embedded (sigstore-python 4.5.1 production)`` or the file path."""
        if self._label is not None:
            return self._label
        if self.spec == "embedded":
            return f"embedded (sigstore-python {_sigstore_version()} production)"
        if self.spec == "tuf":
            return f"tuf ({PRODUCTION_TUF_URL})"
        return self.spec

    def trusted_root_json(self) -> dict[str, Any]:
        """The parsed trusted_root.json (loaded once)."""
        self._ensure()
        assert self._root is not None
        return self._root

    def trusted_root_path(self) -> str | None:
        """Filesystem path of the trusted root in use (None if it is not a plain file)."""
        self._ensure()
        return self._path

    def rekor_keys(self) -> list[TlogKey]:
        """Every usable Rekor (transparency log) key, expired ones included (selection is by time)."""
        self._ensure()
        with self._lock:
            if self._tlogs is None:
                self._tlogs = self._keys("tlogs")
            return list(self._tlogs)

    def ctlog_keys(self) -> list[TlogKey]:
        """Every usable certificate-transparency log key."""
        self._ensure()
        with self._lock:
            if self._ctlogs is None:
                self._ctlogs = self._keys("ctlogs")
            return list(self._ctlogs)

    def rekor_key(self, log_id: str) -> list[TlogKey]:
        """Rekor keys whose log ID equals ``log_id`` (lowercase hex)."""
        return [k for k in self.rekor_keys() if k.log_id == log_id.lower()]

    # -- loading ---------------------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._root is not None:
            return
        with self._lock:
            if self._root is not None:
                return
            data, path, label = self._read()
            self._root = self._parse(data, path or label)
            self._path = path
            self._label = label

    def _read(self) -> tuple[bytes, str | None, str]:
        if self.spec == "embedded":
            return _read_embedded()
        if self.spec == "tuf":
            if self.offline:
                raise TrustRootError(
                    ConfigProblem(
                        file="<trust_root>",
                        line=None,
                        key="trust_root",
                        message="trust_root: tuf needs network access, but this run is offline",
                        expected="embedded or a path to trusted_root.json when offline",
                        found="tuf",
                    ),
                    tip="Use `trust_root: embedded` (the production root shipped with sigverify) or a file.",
                )
            return _read_tuf()
        path = Path(self.spec)
        try:
            size = path.stat().st_size
            if size > MAX_TRUSTED_ROOT_BYTES:
                raise TrustRootError(
                    ConfigProblem(
                        str(path),
                        None,
                        "trust_root",
                        "trusted root file is too large",
                        expected=f"<= {MAX_TRUSTED_ROOT_BYTES} bytes",
                        found=f"{size} bytes",
                    ),
                )
            data = path.read_bytes()
        except FileNotFoundError:
            raise TrustRootError(
                ConfigProblem(
                    str(path),
                    None,
                    "trust_root",
                    "trusted root file not found",
                    expected="an existing trusted_root.json",
                    found=str(path),
                ),
                tip="Check the path (relative paths are relative to the config file), or use `embedded`.",
            ) from None
        except OSError as e:
            raise TrustRootError(
                ConfigProblem(str(path), None, "trust_root", f"cannot read trusted root: {e.strerror}"),
                tip="Check the file's permissions.",
            ) from None
        return data, str(path), str(path)

    def _parse(self, data: bytes, where: str) -> dict[str, Any]:
        from sigverify.crypto.strictjson import PayloadError, loads_object

        try:
            root = loads_object(data, what="trusted root")
        except PayloadError as e:
            raise TrustRootError(
                ConfigProblem(where, None, "trust_root", e.message, expected=e.expected, found=e.found),
                tip="Use a trusted_root.json from the Sigstore TUF repository or `cosign trusted-root create`.",
            ) from None
        media_type = root.get("mediaType")
        if media_type not in _TRUSTED_ROOT_MEDIA_TYPES:
            raise TrustRootError(
                ConfigProblem(
                    where,
                    None,
                    "mediaType",
                    "not a Sigstore trusted root",
                    expected=" or ".join(_TRUSTED_ROOT_MEDIA_TYPES),
                    found=repr(media_type),
                ),
                tip="The file must be a Sigstore TrustedRoot in JSON (protobuf-specs sigstore_trustroot).",
            )
        for section in ("tlogs", "ctlogs", "certificateAuthorities", "timestampAuthorities"):
            if section in root and not isinstance(root[section], list):
                raise TrustRootError(
                    ConfigProblem(
                        where,
                        None,
                        section,
                        "must be a JSON array",
                        expected="array",
                        found=type(root[section]).__name__,
                    ),
                )
        for section in ("tlogs", "ctlogs", "certificateAuthorities", "timestampAuthorities"):
            for i, entry in enumerate(root.get(section, [])):
                holder = entry.get("publicKey") if section in ("tlogs", "ctlogs") and isinstance(entry, dict) else entry
                if not isinstance(holder, dict) or (holder is not entry and not _is_base64(holder.get("rawBytes"))):
                    continue  # a malformed entry: _keys names what is wrong with it
                valid = holder.get("validFor")
                if not (isinstance(valid, dict) and valid.get("start")):
                    raise _no_start(where, f"{section}[{i}]",
                                    "validFor.start" if holder is entry else "publicKey.validFor.start")
        return root

    def _keys(self, section: str) -> list[TlogKey]:
        from sigverify.crypto.keys import load_der_public_key
        from sigverify.errors import KeyMaterialError

        assert self._root is not None
        where = self._path or self.label
        out: list[TlogKey] = []
        for i, entry in enumerate(self._root.get(section, [])):
            name = f"{section}[{i}]"
            try:
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                pk = entry.get("publicKey") or {}
                raw = base64.b64decode(pk["rawBytes"], validate=True)
                valid = pk.get("validFor") or {}
                key_id = entry.get("logId", {}).get("keyId")
                log_id = base64.b64decode(key_id, validate=True).hex() if key_id else hashlib.sha256(raw).hexdigest()
                valid_from = _parse_time(valid.get("start"), f"{name}.publicKey.validFor.start")
                valid_until = _parse_time(valid.get("end"), f"{name}.publicKey.validFor.end")
            except (KeyError, ValueError, TypeError, AttributeError) as e:
                raise TrustRootError(
                    ConfigProblem(where, None, name, f"malformed log entry: {e}"),
                    tip="The trusted root is damaged; fetch a fresh copy.",
                ) from None
            if valid_from is None:
                raise _no_start(where, name, "publicKey.validFor.start")
            try:
                key = load_der_public_key(raw, f"{where} {name}")
            except KeyMaterialError as e:
                self.skipped.append(f"{name} ({entry.get('baseUrl')}): {e.message}")
                continue
            out.append(
                TlogKey(
                    log_id=log_id,
                    public_key=key.key,
                    der=key.der,
                    key_details=str(pk.get("keyDetails", "")),
                    base_url=str(entry.get("baseUrl", "")),
                    valid_from=valid_from,
                    valid_until=valid_until,
                )
            )
        return out


def _is_base64(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _no_start(where: str, name: str, field: str) -> TrustRootError:
    return TrustRootError(
        ConfigProblem(where, None, name, f"no {field}: a key without the start of its validity would be trusted for "
                      "signatures made at any time", expected=f"{field} (RFC 3339)", found="none"),
        tip="Use a trusted_root.json from the Sigstore TUF repository or `cosign trusted-root create`.",
    )


def _sigstore_version() -> str:
    from sigverify.crypto.sigstore_adapter.package import package_version

    return package_version()


def _read_embedded() -> tuple[bytes, str | None, str]:
    from sigverify.crypto.sigstore_adapter.package import embedded_trusted_root

    path = embedded_trusted_root(_EMBEDDED_DIR)
    if path is None or not path.is_file():
        raise TrustRootError(
            ConfigProblem(
                "<embedded>",
                None,
                "trust_root",
                "the embedded production trusted root is missing (sigstore-python not installed?)",
                expected="sigstore/_store/.../trusted_root.json",
                found=str(path),
            ),
            tip="Reinstall sigverify with its dependencies, or set trust_root to a file.",
        )
    return path.read_bytes(), str(path), f"embedded (sigstore-python {_sigstore_version()} production)"


def _read_tuf() -> tuple[bytes, str | None, str]:  # pragma: no cover - needs network
    try:
        from sigverify.crypto.sigstore_adapter.package import tuf_trusted_root

        path = tuf_trusted_root(PRODUCTION_TUF_URL)
        return path.read_bytes(), str(path), f"tuf ({PRODUCTION_TUF_URL})"
    except Exception as e:
        raise TrustRootError(
            ConfigProblem("<tuf>", None, "trust_root", f"TUF refresh of the trusted root failed: {e}"),
            tip="Check network access to tuf-repo-cdn.sigstore.dev, or use `trust_root: embedded`.",
        ) from None


def tlog_key_summary(keys: list[TlogKey]) -> str:
    return ", ".join(f"{k.log_id[:16]}… ({k.base_url})" for k in keys) or "none"
