"""`--offline` refuses keys read from a key service (exit 2, naming the authority and the export command), and
an endpoint override never turns TLS off: a plain http:// KMS or Vault endpoint is refused before any connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.cli import main
from sigverify.errors import KeyMaterialError
from sigverify.models import Code
from tests.kms.conftest import require_sdk

REPO = Path(__file__).resolve().parents[2]
LAYOUT = REPO / "examples" / "oci-layout"

URIS = [
    ("awskms:///alias/vendor", "AWS KMS"),
    ("gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K", "Google Cloud KMS"),
    ("azurekms://vault.example.net/KEY", "Azure Key Vault"),
    ("hashivault://KEY", "HashiCorp Vault"),
]


def _config(tmp_path: Path, key: str) -> Path:
    (tmp_path / "oci-layout").symlink_to(LAYOUT)
    path = tmp_path / "sigverify.yaml"
    path.write_text(
        "version: 1\nimages: [oci:oci-layout:app-1.0]\npolicies:\n  - name: release\n    match: ['oci:oci-layout']\n"
        f"    authorities:\n      - name: vendor\n        key: {key}\n        tlog: ignore\n"
        "        annotations: {env: production}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that records whether anything connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


@pytest.mark.parametrize(("uri", "service"), URIS)
def test_offline_refuses_a_key_service(uri: str, service: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for var in ("AWS_ENDPOINT_URL_KMS", "VAULT_ADDR", "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"):
        monkeypatch.setenv(var, f"https://127.0.0.1:{port}" + ("/" if "CLOUDSDK" in var else ""))
    config = _config(tmp_path, f"{{kms: '{uri}'}}")
    code = main(["verify", "--config", str(config), "--offline", "--ci", "none"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{config}:7" in err and "authority 'vendor'" in err and "policy 'release'" in err
    assert f"from {service} over the network" in err
    assert f"cosign public-key --key {uri} --outfile vendor.pem" in err.replace("'", "")
    assert "key: {path: vendor.pem}" in err
    assert _nobody_connected(listener)


def test_offline_accepts_keys_that_need_no_network(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_KEY", (REPO / "examples" / "keys" / "cosign.pub").read_text())
    config = _config(tmp_path, "{kms: 'env://VENDOR_KEY'}")
    assert main(["verify", "--config", str(config), "--offline", "--ci", "none"]) == 0, capsys.readouterr()


def test_without_offline_the_key_service_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The refusal belongs to --offline: the same policy is a valid configuration otherwise."""
    from sigverify.policy import load_config

    config = _config(tmp_path, "{kms: 'awskms:///alias/vendor'}")
    assert load_config(config).policies[0].authorities[0].key.kms == "awskms:///alias/vendor"  # type: ignore[union-attr]


def test_aws_http_endpoint_override_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               listener: socket.socket) -> None:
    require_sdk("boto3", "aws")
    from sigverify.kms import aws, fetch_public_key_pem

    port = listener.getsockname()[1]
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://user:pw@127.0.0.1:{port}")
    aws.reset_clients()
    try:
        with pytest.raises(KeyMaterialError) as err:
            fetch_public_key_pem("awskms:///alias/vendor")
    finally:
        aws.reset_clients()
    assert err.value.code == Code.KEY_ERROR
    assert "is not HTTPS" in err.value.message and f"http://127.0.0.1:{port}" in err.value.message
    assert "pw" not in str(err.value) + (err.value.tip or "")
    assert _nobody_connected(listener)


def test_vault_http_address_is_refused(monkeypatch: pytest.MonkeyPatch, listener: socket.socket) -> None:
    require_sdk("hvac", "vault")
    from sigverify.kms import fetch_public_key_pem

    port = listener.getsockname()[1]
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("VAULT_TOKEN", "hvs.example")
    with pytest.raises(KeyMaterialError) as err:
        fetch_public_key_pem("hashivault://vendor")
    assert err.value.code == Code.KEY_ERROR
    assert err.value.message.startswith("VAULT_ADDR is plain http://")
    assert "vault server -dev-tls" in (err.value.tip or "")
    assert _nobody_connected(listener)
