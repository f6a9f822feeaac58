"""An authority's ``key:`` (path, pem, env, kms), checked now by the verifiers' own key rules."""

from __future__ import annotations

import os
import re

from sigverify.policy.builder import BuilderBase
from sigverify.policy.model import KeyRef
from sigverify.policy.yamlstrict import KeyPath

MAX_KEY_BYTES = 64 * 1024

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


class KeysBuilder(BuilderBase):
    """The key references of authorities."""

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
