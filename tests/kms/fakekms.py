"""A local HTTPS server speaking the documented REST APIs of three key services, for the SDK clients under test.

* HashiCorp Vault / OpenBao transit: ``GET /v1/<mount>/keys/<name>`` (read key) and
  ``POST /v1/<mount>/sign/<name>[/<hash>]`` (what cosign's hashivault signer calls), ``X-Vault-Token`` auth.
* Google Cloud KMS v1 REST: ``cryptoKeys.get``, ``cryptoKeyVersions.list/get/getPublicKey`` with an OAuth 2.0
  bearer token issued by ``POST /token`` for a service-account JWT (the ``token_uri`` of a service-account key).
* Azure Key Vault: ``GET /keys/<name>[/<version>]`` behind the Key Vault bearer challenge, with tokens from an
  App Service managed-identity endpoint ``GET /msi/token`` (``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``).

The server holds the private keys, so tests can sign exactly what the service would sign, and records every
request (method, path, headers) so tests can assert on what the SDKs sent.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from tests.fixtures.registry import make_self_signed

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def new_key(kind: str) -> PrivateKey:
    """``ec-p256`` / ``ec-p384`` / ``ec-p521`` / ``rsa-2048`` / ``rsa-3072`` / ``rsa-4096`` / ``ed25519``."""
    if kind.startswith("ec-"):
        curve = {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1(), "ec-p521": ec.SECP521R1()}[kind]
        return ec.generate_private_key(curve)
    if kind.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    assert kind == "ed25519"
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(key: PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class VaultKey:
    type: str  # transit type: ecdsa-p256, rsa-2048, ed25519, aes256-gcm96, ...
    versions: dict[int, PrivateKey | None]  # None: a symmetric key (no public key)


@dataclass
class GcpVersion:
    algorithm: str
    key: PrivateKey | None
    state: str = "ENABLED"


@dataclass
class GcpKey:
    purpose: str  # ASYMMETRIC_SIGN | ENCRYPT_DECRYPT | ...
    versions: dict[str, GcpVersion]
    denied: bool = False


@dataclass
class AzureKey:
    key: PrivateKey | None
    kty: str  # EC | RSA | EC-HSM | RSA-HSM | oct
    ops: list[str]
    version: str = field(default_factory=lambda: secrets.token_hex(16))
    enabled: bool = True
    denied: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class FakeKms:
    """One HTTPS server for all three services. ``url`` is https://127.0.0.1:PORT, ``ca`` its certificate."""

    def __init__(self, tmp: Path) -> None:
        cert, key = make_self_signed("fake kms").write(tmp, "fakekms")
        self.ca = cert
        self.vault_tokens: set[str] = set()
        self.vault: dict[tuple[str, str], VaultKey] = {}  # (mount, name)
        self.gcp: dict[str, GcpKey] = {}  # projects/.../cryptoKeys/K
        self.gcp_tokens: set[str] = set()
        self.gcp_clients: dict[str, Any] = {}  # client_email -> public key of the service account
        self.azure: dict[str, AzureKey] = {}  # key name
        self.azure_tokens: set[str] = set()
        self.identity_header = secrets.token_hex(16)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self.server = server
        self.port = int(server.server_address[1])
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, r: Recorded) -> None:
        with self._lock:
            self.requests.append(r)

    def seen(self, prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # -- set-up helpers ---------------------------------------------------------------------------------------
    def vault_token(self) -> str:
        token = "hvs." + secrets.token_urlsafe(24)
        self.vault_tokens.add(token)
        return token

    def add_vault_key(self, name: str, kind: str, *, mount: str = "transit", versions: int = 1) -> VaultKey:
        transit = {"ec-p256": "ecdsa-p256", "ec-p384": "ecdsa-p384", "ec-p521": "ecdsa-p521"}.get(kind, kind)
        keys: dict[int, PrivateKey | None] = {
            v: (None if kind.startswith(("aes", "chacha", "hmac")) else new_key(kind)) for v in range(1, versions + 1)
        }
        vk = VaultKey(type=transit, versions=keys)
        self.vault[(mount, name)] = vk
        return vk

    def add_gcp_key(self, name: str, algorithm: str, *, purpose: str = "ASYMMETRIC_SIGN",
                    versions: tuple[str, ...] = ("ENABLED",)) -> GcpKey:
        kind = {"EC_SIGN_P256_SHA256": "ec-p256", "EC_SIGN_P384_SHA384": "ec-p384"}.get(algorithm)
        if kind is None and algorithm.startswith("RSA_SIGN_"):
            kind = "rsa-" + algorithm.split("_")[3]
        gk = GcpKey(purpose=purpose, versions={
            str(i + 1): GcpVersion(algorithm, new_key(kind) if kind else None, state)
            for i, state in enumerate(versions)
        })
        self.gcp[name] = gk
        return gk

    def add_azure_key(self, name: str, kind: str, *, kty: str | None = None,
                      ops: tuple[str, ...] = ("sign", "verify")) -> AzureKey:
        key = None if kind == "oct" else new_key(kind)
        ak = AzureKey(key=key, kty=kty or ("oct" if key is None else "EC" if kind.startswith("ec") else "RSA"),
                      ops=list(ops))
        self.azure[name] = ak
        return ak


def _handler(state: FakeKms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _route(self, method: str) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            state.record(Recorded(method, parsed.path, {k.lower(): v for k, v in self.headers.items()}))
            query = dict(urllib.parse.parse_qsl(parsed.query))
            body = self._body() if method in ("POST", "PUT") else b""
            path = parsed.path
            if path.startswith("/v1/projects/"):
                return self._gcp(path[len("/v1/"):], query)
            if path == "/token":
                return self._gcp_token(body)
            if path.startswith("/v1/"):
                return self._vault(method, path[len("/v1/"):], body)
            if path == "/msi/token":
                return self._msi(query)
            if path.startswith("/keys/"):
                return self._azure(path[len("/keys/"):])
            return self._send(404, {"error": "no such route"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:  # Vault treats PUT and POST alike; its Go client writes with PUT
            self._route("PUT")

        # -- Vault ------------------------------------------------------------------------------------------
        def _vault(self, method: str, rest: str, body: bytes) -> None:
            if self.headers.get("X-Vault-Token") not in state.vault_tokens:
                return self._send(403, {"errors": ["permission denied"]})
            for mount, name in list(state.vault):
                for op in ("keys", "sign"):
                    prefix = f"{mount}/{op}/{name}"
                    if rest == prefix or rest.startswith(prefix + "/"):
                        vk = state.vault[(mount, name)]
                        if op == "keys" and method == "GET":
                            return self._send(200, {"request_id": secrets.token_hex(8), "lease_id": "",
                                                    "renewable": False, "lease_duration": 0,
                                                    "data": _vault_key_data(name, vk), "wrap_info": None,
                                                    "warnings": None, "auth": None})
                        if op == "sign" and method in ("POST", "PUT"):
                            return self._vault_sign(vk, rest[len(prefix):].strip("/"), json.loads(body or b"{}"))
            return self._send(404, {"errors": []})

        def _vault_sign(self, vk: VaultKey, hash_name: str, req: dict[str, Any]) -> None:
            version = int(req.get("key_version") or 0) or max(vk.versions)
            key = vk.versions[version]
            assert key is not None
            data = base64.b64decode(req["input"])
            algo = {"sha2-256": hashes.SHA256(), "sha2-384": hashes.SHA384(), "sha2-512": hashes.SHA512(),
                    "": hashes.SHA256()}[hash_name]
            sig = _sign(key, data, algo, prehashed=bool(req.get("prehashed")), pss=False)
            self._send(200, {"data": {"signature": f"vault:v{version}:" + base64.b64encode(sig).decode(),
                                      "key_version": version}})

        # -- Google Cloud KMS -------------------------------------------------------------------------------
        def _gcp_token(self, body: bytes) -> None:
            form = dict(urllib.parse.parse_qsl(body.decode()))
            assert form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer", form
            header, claims, signature = form["assertion"].split(".")
            payload = json.loads(_unb64url(claims))
            pub = state.gcp_clients.get(payload.get("iss"))
            if pub is None:
                return self._send(400, {"error": "invalid_grant", "error_description": "account not found"})
            pub.verify(_unb64url(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
            token = "ya29." + secrets.token_urlsafe(32)
            state.gcp_tokens.add(token)
            self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

        def _gcp_error(self, code: int, status: str, message: str) -> None:
            self._send(code, {"error": {"code": code, "message": message, "status": status}})

        def _gcp(self, name: str, query: dict[str, str]) -> None:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not _gcp_authorized(state, auth[7:]):
                return self._gcp_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            key_name, _, rest = name.partition("/cryptoKeyVersions")
            gk = state.gcp.get(key_name)
            if gk is not None and gk.denied:
                return self._gcp_error(403, "PERMISSION_DENIED",
                                       f"Permission 'cloudkms.cryptoKeys.get' denied on resource '{key_name}' "
                                       "(or it may not exist).")
            if gk is None:
                return self._gcp_error(404, "NOT_FOUND", f"CryptoKey {key_name} not found.")
            if name == key_name:
                return self._send(200, {"name": key_name, "purpose": gk.purpose, "createTime": "2026-01-01T00:00:00Z",
                                        "versionTemplate": {"algorithm": next(iter(gk.versions.values())).algorithm,
                                                            "protectionLevel": "SOFTWARE"}})
            if rest == "":
                listed = [(v, gv) for v, gv in gk.versions.items()
                          if query.get("filter") != "state=ENABLED" or gv.state == "ENABLED"]
                assert query.get("orderBy") in (None, "name desc"), query
                if query.get("orderBy") == "name desc":
                    listed.sort(key=lambda item: f"{key_name}/cryptoKeyVersions/{item[0]}", reverse=True)
                size = int(query.get("pageSize") or 0) or len(listed)
                return self._send(200, {"cryptoKeyVersions": [_gcp_version(key_name, v, gv) for v, gv in listed[:size]],
                                        "totalSize": len(listed)})
            version, _, tail = rest.lstrip("/").partition("/")
            gv = gk.versions.get(version)
            if gv is None:
                return self._gcp_error(404, "NOT_FOUND", f"CryptoKeyVersion {name} not found.")
            if tail == "":
                return self._send(200, _gcp_version(key_name, version, gv))
            if tail == "publicKey" and gv.key is not None:
                if gv.state != "ENABLED":
                    return self._gcp_error(400, "FAILED_PRECONDITION", f"{name} is not enabled, current state is: "
                                           f"{gv.state}.")
                pem = public_pem(gv.key)
                return self._send(200, {"pem": pem, "algorithm": gv.algorithm, "name": f"{key_name}/cryptoKeyVersions/"
                                        f"{version}", "protectionLevel": "SOFTWARE"})
            return self._gcp_error(400, "FAILED_PRECONDITION", f"{name} has no public key.")

        # -- Azure Key Vault --------------------------------------------------------------------------------
        def _msi(self, query: dict[str, str]) -> None:
            if self.headers.get("X-IDENTITY-HEADER") != state.identity_header:
                return self._send(401, {"error": "invalid identity header"})
            token = "eyJ0eXAiOiJKV1QifQ." + secrets.token_urlsafe(32)
            state.azure_tokens.add(token)
            self._send(200, {"access_token": token, "expires_on": str(int(time.time()) + 3600),
                             "resource": query.get("resource", ""), "token_type": "Bearer"})

        def _azure(self, rest: str) -> None:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                # The Key Vault challenge. The resource must be a domain suffix of the vault host for the SDK to
                # accept it (myvault.vault.azure.net / vault.azure.net); from 127.0.0.1 that suffix is 0.0.1.
                challenge = (f'Bearer authorization="https://login.microsoftonline.com/{"0" * 8}", '
                             f'resource="https://0.0.1:{state.port}"')
                return self._send(401, {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing "
                                                  "a Bearer or PoP token."}}, {"WWW-Authenticate": challenge})
            if auth[7:] not in state.azure_tokens:
                return self._send(401, {"error": {"code": "Unauthorized", "message": "AKV10032: Invalid issuer."}})
            name, _, version = rest.strip("/").partition("/")
            ak = state.azure.get(name)
            if ak is not None and ak.denied:
                return self._send(403, {"error": {"code": "Forbidden", "message": "Caller is not authorized to "
                                                  "perform action on resource.", "innererror": {
                                                      "code": "ForbiddenByRbac"}}})
            if ak is None or (version and version != ak.version):
                return self._send(404, {"error": {"code": "KeyNotFound", "message": f"A key with (name/id) {name} "
                                                  "was not found in this key vault."}})
            return self._send(200, _azure_bundle(state, name, ak))

    return Handler


def _vault_key_data(name: str, vk: VaultKey) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for v, key in vk.versions.items():
        if key is None:
            keys[str(v)] = 1767225600
            continue
        if isinstance(key, ed25519.Ed25519PrivateKey):
            raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            public = base64.b64encode(raw).decode()
        else:
            public = public_pem(key)
        label = {"ecdsa-p256": "P-256", "ecdsa-p384": "P-384", "ecdsa-p521": "P-521"}.get(vk.type, vk.type)
        keys[str(v)] = {"certificate_chain": "", "creation_time": "2026-01-01T00:00:00Z", "name": label,
                        "public_key": public}
    signing = vk.type.startswith(("ecdsa", "rsa", "ed25519"))
    return {"allow_plaintext_backup": False, "auto_rotate_period": 0, "deletion_allowed": False, "derived": False,
            "exportable": False, "imported_key": False, "keys": keys, "latest_version": max(vk.versions),
            "min_available_version": 0, "min_decryption_version": 1, "min_encryption_version": 0, "name": name,
            "supports_decryption": not signing or vk.type.startswith("rsa"), "supports_derivation": not signing,
            "supports_encryption": not signing or vk.type.startswith("rsa"), "supports_signing": signing,
            "type": vk.type}


def _gcp_authorized(state: FakeKms, token: str) -> bool:
    """An access token from /token, or a service account's self-signed JWT (what Google's client libraries send
    for service-account keys: RS256 over header.claims, iss = the account, unexpired)."""
    if token in state.gcp_tokens:
        return True
    try:
        header, claims, signature = token.split(".")
        payload = json.loads(_unb64url(claims))
        pub = state.gcp_clients[payload["iss"]]
        pub.verify(_unb64url(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return bool(payload.get("exp", 0) > time.time())


def _gcp_version(key_name: str, version: str, gv: GcpVersion) -> dict[str, Any]:
    return {"name": f"{key_name}/cryptoKeyVersions/{version}", "state": gv.state, "protectionLevel": "SOFTWARE",
            "algorithm": gv.algorithm, "createTime": "2026-01-01T00:00:00Z", "generateTime": "2026-01-01T00:00:00Z"}


def _azure_bundle(state: FakeKms, name: str, ak: AzureKey) -> dict[str, Any]:
    jwk: dict[str, Any] = {"kid": f"{state.url}/keys/{name}/{ak.version}", "kty": ak.kty, "key_ops": ak.ops}
    if isinstance(ak.key, ec.EllipticCurvePrivateKey):
        nums = ak.key.public_key().public_numbers()
        size = (ak.key.curve.key_size + 7) // 8
        jwk.update(crv={"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[ak.key.curve.name],
                   x=_b64url(nums.x.to_bytes(size, "big")), y=_b64url(nums.y.to_bytes(size, "big")))
    elif isinstance(ak.key, rsa.RSAPrivateKey):
        rn = ak.key.public_key().public_numbers()
        jwk.update(n=_b64url(rn.n.to_bytes((rn.n.bit_length() + 7) // 8, "big")),
                   e=_b64url(rn.e.to_bytes((rn.e.bit_length() + 7) // 8, "big")))
    return {"key": jwk, "attributes": {"enabled": ak.enabled, "created": 1767225600, "updated": 1767225600,
                                       "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": {}}


def _sign(key: PrivateKey, data: bytes, algo: hashes.HashAlgorithm, *, prehashed: bool, pss: bool) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    chosen: Any = Prehashed(algo) if prehashed else algo
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(chosen))
    pad = padding.PSS(mgf=padding.MGF1(algo), salt_length=padding.PSS.DIGEST_LENGTH) if pss else padding.PKCS1v15()
    return key.sign(data, pad, chosen)


def service_account_json(state: FakeKms, path: Path, project: str = "acme-release") -> Path:
    """A service-account key file whose ``token_uri`` is this server (GOOGLE_APPLICATION_CREDENTIALS)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = f"sigverify-{secrets.token_hex(4)}@{project}.iam.gserviceaccount.com"
    state.gcp_clients[email] = key.public_key()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": secrets.token_hex(20),
        "private_key": private_pem(key).decode(), "client_email": email, "client_id": "1" * 21,
        "auth_uri": f"{state.url}/auth", "token_uri": f"{state.url}/token",
        "auth_provider_x509_cert_url": f"{state.url}/certs", "client_x509_cert_url": f"{state.url}/certs/x",
        "universe_domain": "googleapis.com",
    }))
    return path
