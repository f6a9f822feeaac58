"""A real AWS KMS API emulator (moto in server mode, HTTPS on loopback) and an AWS environment pointing at it."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.registry import make_self_signed
from tests.fixtures.vectors import missing

# Dummy credentials: moto accepts any unless IAM enforcement is switched on. Tests assert they never leak.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moto_server_bin() -> str:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.is_file():
        return str(exe)
    found = shutil.which("moto_server")
    if found is None:
        missing("the AWS KMS emulator `moto_server`", "pip install 'sigverify[test]' (moto[server]).")
        raise AssertionError("unreachable")
    return found


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A CA-flagged self-signed certificate for 127.0.0.1/localhost: the emulator speaks HTTPS like AWS does."""
    return make_self_signed("moto kms test endpoint").write(tmp, "endpoint")


@dataclass
class MotoServer:
    """One moto_server process: ``url`` (https://127.0.0.1:PORT), ``host`` (127.0.0.1:PORT), ``ca`` (its cert)."""

    proc: subprocess.Popen[bytes]
    port: int
    ca: Path
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def set_iam_enforcement(self, on: bool) -> None:
        """moto's IAM enforcement: every later request must be signed by an IAM user whose policies allow it."""
        req = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(req, context=self._ssl(), timeout=10) as r:
            assert r.status == 200

    def client(self, service: str = "kms", region: str = REGION, **kw: Any) -> Any:
        import boto3

        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.url,
            verify=str(self.ca),
            aws_access_key_id=kw.pop("aws_access_key_id", ACCESS_KEY_ID),
            aws_secret_access_key=kw.pop("aws_secret_access_key", SECRET_ACCESS_KEY),
            **kw,
        )


REPO = Path(__file__).resolve().parents[2]


def start_moto(tmp: Path, *, digest: bool = False) -> MotoServer:
    """Start moto_server over HTTPS. ``digest``: through tests/kms/moto_digest.py, which makes KMS Sign honour
    MessageType=DIGEST as AWS does (what cosign sends); plain moto otherwise."""
    cert, key = _self_signed(tmp)
    port = free_port()
    log = tmp / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    argv = [sys.executable, "-m", "tests.kms.moto_digest"] if digest else [_moto_server_bin()]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "-H", "127.0.0.1", "-p", str(port), "-c", str(cert), "-k", str(key)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = MotoServer(proc=proc, port=port, ca=cert, log=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/moto-api/", context=server._ssl(), timeout=1):
                return server
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_moto(server)
                pytest.fail(f"moto_server did not start on {server.url}:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)


def stop_moto(server: MotoServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server shared by the tests of one xdist worker (each test creates its own keys)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        missing("boto3 (the AWS SDK for Python)", "pip install 'sigverify[aws,test]'.")
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop_moto(server)


_AWS_VARS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KMS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


def aws_environment(server: MotoServer | None, tmp: Path) -> dict[str, str]:
    """The environment a CI job would have: dummy keys, a region, the emulator as AWS_ENDPOINT_URL."""
    env = {
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
    }
    if server is not None:
        env["AWS_ENDPOINT_URL"] = server.url
        env["AWS_CA_BUNDLE"] = str(server.ca)
    return env


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Point the standard AWS settings of this process at the emulator (and forget cached boto3 clients)."""
    from sigverify.kms import aws

    for var in _AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    env = aws_environment(moto, tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    aws.reset_clients()
    yield env
    aws.reset_clients()


@pytest.fixture
def kms(moto: MotoServer) -> Any:
    """A boto3 KMS client on the emulator (region us-east-1) for setting up keys."""
    return moto.client("kms")


# ---------------------------------------------------------------------------------------------------------------
# gcpkms:// azurekms:// hashivault://: one local HTTPS server speaking the three REST APIs (tests/kms/fakekms.py)
# ---------------------------------------------------------------------------------------------------------------

_SERVICE_VARS = (
    "VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT", "VAULT_CAPATH", "TRANSIT_SECRET_ENGINE_PATH",
    "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS", "GOOGLE_CLOUD_PROJECT",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET",
    "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_USERNAME", "AZURE_PASSWORD",
)


def require_sdk(module: str, extra: str) -> None:
    """At import of a test module: skip locally, fail under CI=true, when a service's SDK is not installed."""
    import importlib.util

    from tests.fixtures.vectors import in_ci

    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        msg = f"the SDK module {module} is not available. pip install 'sigverify[{extra}]'."
        if in_ci():
            pytest.fail(f"CI=true: {msg}", pytrace=False)
        pytest.skip(msg, allow_module_level=True)


@pytest.fixture(scope="session")
def fakekms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.kms.fakekms import FakeKms

    server = FakeKms(tmp_path_factory.mktemp("fakekms"))
    yield server
    server.close()


def service_environment(server: Any, tmp: Path) -> dict[str, str]:
    """What a CI job would have for all three services, pointing at the local server: a Vault token and address,
    a Google service-account key file (Application Default Credentials) and the gcloud endpoint override, an
    App Service managed identity for Azure; the server's CA through each SDK's documented setting."""
    from tests.kms.fakekms import service_account_json

    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),  # no ~/.vault-token, no gcloud or az configuration of the machine
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "AZURE_CONFIG_DIR": str(home / "azure"),
        "VAULT_ADDR": server.url,
        "VAULT_TOKEN": server.vault_token(),
        "VAULT_CACERT": str(server.ca),
        "GOOGLE_APPLICATION_CREDENTIALS": str(service_account_json(server, tmp / "service-account.json")),
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS": server.url + "/",
        "REQUESTS_CA_BUNDLE": str(server.ca),
        "IDENTITY_ENDPOINT": server.url + "/msi/token",
        "IDENTITY_HEADER": server.identity_header,
    }


@pytest.fixture
def service_env(fakekms: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Point this process at the local server for gcpkms://, azurekms:// and hashivault:// (clients forgotten)."""
    from sigverify.kms import azure, gcp, vault

    for var in _SERVICE_VARS:
        monkeypatch.delenv(var, raising=False)
    env = service_environment(fakekms, tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for module in (azure, gcp, vault):
        module.reset_clients()
    yield env
    for module in (azure, gcp, vault):
        module.reset_clients()
