"""Authentication against real registries: htpasswd Basic, token auth with caching, every credential source."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries
from sigverify.registry.auth import Challenge, parse_challenges, pull_scope
from sigverify.registry.remote import RemoteSource
from tests.fixtures.registry import RegistryServer, unique_repo

pytestmark = pytest.mark.registry


def env_registries(server: RegistryServer, password: str | None = None, **env: str) -> Registries:
    settings = {server.host: RegistrySettings(insecure=True, username_env="REG_USER", password_env="REG_PASS")}
    values = {"REG_USER": server.username, "REG_PASS": password if password is not None else server.password}
    return Registries(settings, env={**values, **env}, docker_config_dir="/nonexistent")


def config_registries(server: RegistryServer, config_dir: Path, path: str | None = None) -> Registries:
    env = {"PATH": path or os.environ.get("PATH", "")}
    return Registries({server.host: RegistrySettings(insecure=True)}, env=env, docker_config_dir=str(config_dir))


def resolve(regs: Registries, server: RegistryServer, repo: str, tag: str = "v1") -> str:
    ref = ImageRef(server.host, repo, tag=tag)
    return regs.source_for(ref).resolve(ref).digest


def assert_no_secret(exc: RegistryError, *secrets: str) -> None:
    text = exc.diagnostics() + repr(exc.args) + str(exc.url)
    for secret in secrets:
        assert secret not in text


# -- htpasswd (Basic) -----------------------------------------------------------------------------------------


def test_htpasswd_good_credentials_one_challenge(htpasswd_registry: RegistryServer) -> None:
    repo = unique_repo()
    digests = [htpasswd_registry.push_image(repo, f"v{i}")[0] for i in range(3)]
    with env_registries(htpasswd_registry) as regs:
        assert [resolve(regs, htpasswd_registry, repo, f"v{i}") for i in range(3)] == digests
    statuses = [a.status for a in htpasswd_registry.sent_requests(repo)]
    assert statuses == [401, 200, 200, 200]  # one challenge, then Basic sent up front


def test_htpasswd_wrong_password_is_auth_error_without_secret(htpasswd_registry: RegistryServer) -> None:
    repo = unique_repo()
    htpasswd_registry.push_image(repo, "v1")
    wrong = "wrong-password-" + "x" * 8
    with env_registries(htpasswd_registry, password=wrong) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, htpasswd_registry, repo)
    assert exc.value.code == Code.AUTH_ERROR
    assert "rejected" in exc.value.message and htpasswd_registry.username in exc.value.message
    assert_no_secret(exc.value, wrong, base64.b64encode(f"{htpasswd_registry.username}:{wrong}".encode()).decode())


def test_htpasswd_without_credentials_says_where_it_looked(htpasswd_registry: RegistryServer, tmp_path: Path) -> None:
    repo = unique_repo()
    htpasswd_registry.push_image(repo, "v1")
    with config_registries(htpasswd_registry, tmp_path) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, htpasswd_registry, repo)
    assert exc.value.code == Code.AUTH_ERROR
    assert "no credentials" in exc.value.message and str(tmp_path / "config.json") in exc.value.message
    assert "docker login" in (exc.value.tip or "")


def test_missing_env_variable_is_named(htpasswd_registry: RegistryServer) -> None:
    settings = {htpasswd_registry.host: RegistrySettings(insecure=True, username_env="U_X", password_env="P_X")}
    with Registries(settings, env={"U_X": "alice"}) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, htpasswd_registry, unique_repo())
    assert exc.value.code == Code.AUTH_ERROR and "P_X" in exc.value.message


# -- docker config.json ---------------------------------------------------------------------------------------


def write_config(directory: Path, obj: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(obj))
    return directory


@pytest.mark.parametrize("form", ["auth", "userpass", "url-key"])
def test_docker_config_auths(htpasswd_registry: RegistryServer, tmp_path: Path, form: str) -> None:
    server = htpasswd_registry
    repo = unique_repo()
    digest, _ = server.push_image(repo, "v1")
    b64 = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
    entry: dict[str, str] = (
        {"auth": b64} if form != "userpass" else {"username": server.username, "password": server.password}
    )
    key = f"http://{server.host}/v2/" if form == "url-key" else server.host
    config = write_config(tmp_path, {"auths": {"other.example:5000": {"auth": "eDp5"}, key: entry}})
    with config_registries(server, config) as regs:
        assert resolve(regs, server, repo) == digest


def test_docker_config_env_var_docker_config(htpasswd_registry: RegistryServer, tmp_path: Path) -> None:
    server = htpasswd_registry
    repo = unique_repo()
    digest, _ = server.push_image(repo, "v1")
    config = write_config(
        tmp_path / "cfg", {"auths": {server.host: {"username": server.username, "password": server.password}}}
    )
    with Registries({server.host: RegistrySettings(insecure=True)}, env={"DOCKER_CONFIG": str(config)}) as regs:
        assert resolve(regs, server, repo) == digest


def test_credentials_of_another_registry_are_not_used(htpasswd_registry: RegistryServer, tmp_path: Path) -> None:
    server = htpasswd_registry
    repo = unique_repo()
    server.push_image(repo, "v1")
    config = write_config(tmp_path, {"auths": {"127.0.0.1:1": {"username": server.username, "password": "x"}}})
    with config_registries(server, config) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, server, repo)
    assert exc.value.code == Code.AUTH_ERROR and "no credentials" in exc.value.message


def make_helper(directory: Path, name: str, server: RegistryServer, *, token: bool = False) -> Path:
    """A real docker-credential-<name> executable speaking the helper protocol; logs each call."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.calls"
    secret = server.password
    username = server.username
    script = directory / f"docker-credential-{name}"
    who = "<token>" if token else username
    answer = '{"ServerURL":"%s","Username":"' + who + '","Secret":"' + secret + '"}'
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 2\n'
        "read server\n"
        f'echo "$server" >> "{log}"\n'
        f'if [ "$server" = "{server.host}" ]; then\n'
        f"  printf '{answer}' \"$server\"\n"
        "  exit 0\n"
        "fi\n"
        "echo 'credentials not found in native keychain'\n"
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return log


@pytest.mark.parametrize("mode", ["credHelpers", "credsStore"])
def test_credential_helper(htpasswd_registry: RegistryServer, tmp_path: Path, mode: str) -> None:
    server = htpasswd_registry
    repo = unique_repo()
    digests = [server.push_image(repo, f"v{i}")[0] for i in range(3)]
    bindir = tmp_path / "bin"
    log = make_helper(bindir, "sigtest", server)
    config_obj: dict[str, object] = (
        {"credHelpers": {server.host: "sigtest"}} if mode == "credHelpers" else {"credsStore": "sigtest"}
    )
    config = write_config(tmp_path / "cfg", config_obj)
    with config_registries(server, config, path=f"{bindir}:{os.environ['PATH']}") as regs:
        assert [resolve(regs, server, repo, f"v{i}") for i in range(3)] == digests
    assert log.read_text().splitlines() == [server.host]  # called once, with the registry host


def test_credential_helper_missing_binary(htpasswd_registry: RegistryServer, tmp_path: Path) -> None:
    server = htpasswd_registry
    config = write_config(tmp_path, {"credHelpers": {server.host: "does-not-exist"}})
    with config_registries(server, config, path=str(tmp_path)) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, server, unique_repo())
    assert exc.value.code == Code.AUTH_ERROR and "docker-credential-does-not-exist" in exc.value.message


def test_creds_store_not_found_falls_back_to_auths(htpasswd_registry: RegistryServer, tmp_path: Path) -> None:
    server = htpasswd_registry
    repo = unique_repo()
    digest, _ = server.push_image(repo, "v1")
    bindir = tmp_path / "bin"

    class Other:  # the helper knows only another host
        host = "elsewhere:1"
        username = "nobody"
        password = "nothing"

    make_helper(bindir, "other", Other)  # type: ignore[arg-type]
    config = write_config(
        tmp_path / "cfg",
        {"credsStore": "other", "auths": {server.host: {"username": server.username, "password": server.password}}},
    )
    with config_registries(server, config, path=str(bindir)) as regs:
        assert resolve(regs, server, repo) == digest


# -- token auth -----------------------------------------------------------------------------------------------


def test_token_auth_one_token_request_per_scope(token_registry: RegistryServer) -> None:
    server = token_registry
    assert server.token_server is not None
    repos = [unique_repo() for _ in range(3)]
    pushed = {repo: [server.push_image(repo, f"v{i}")[0] for i in range(4)] for repo in repos}
    jobs = [(repo, i) for repo in repos for i in range(4)] * 3
    with env_registries(server) as regs:

        def work(job: tuple[str, int]) -> tuple[str, int, str]:
            repo, i = job
            return repo, i, resolve(regs, server, repo, f"v{i}")

        with ThreadPoolExecutor(8) as pool:
            for repo, i, digest in pool.map(work, jobs):
                assert digest == pushed[repo][i]
        assert regs.token_request_count == len(repos)
    for repo in repos:
        assert server.token_server.count(server.username, pull_scope(repo)) == 1
    # registry side: exactly one 401 for the whole run (the first request), then tokens sent up front
    statuses = [a.status for repo in repos for a in server.sent_requests(repo)]
    assert statuses.count(401) == 1 and statuses.count(200) == len(jobs)


def test_token_auth_wrong_password(token_registry: RegistryServer) -> None:
    server = token_registry
    repo = unique_repo()
    server.push_image(repo, "v1")
    wrong = "not-the-password-123"
    with env_registries(server, password=wrong) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, server, repo)
    assert exc.value.code == Code.AUTH_ERROR and "rejected" in exc.value.message
    assert_no_secret(exc.value, wrong)


def test_token_auth_anonymous_refused(token_registry: RegistryServer, tmp_path: Path) -> None:
    server = token_registry
    with config_registries(server, tmp_path) as regs, pytest.raises(RegistryError) as exc:
        resolve(regs, server, unique_repo())
    assert exc.value.code == Code.AUTH_ERROR and "anonymous" in exc.value.message


def test_token_auth_identity_token(token_registry: RegistryServer, tmp_path: Path) -> None:
    server = token_registry
    assert server.token_server is not None
    refresh = "refresh-" + os.urandom(6).hex()
    server.token_server.refresh_tokens[server.username] = refresh
    repo = unique_repo()
    digest, _ = server.push_image(repo, "v1")
    config = write_config(tmp_path, {"auths": {server.host: {"auth": "", "identitytoken": refresh}}})
    with config_registries(server, config) as regs:
        assert resolve(regs, server, repo) == digest
    assert server.token_server.count(server.username, pull_scope(repo)) == 1


def test_token_expiry_is_respected(token_registry: RegistryServer) -> None:
    server = token_registry
    assert server.token_server is not None
    repo = unique_repo()
    server.push_image(repo, "v1")
    server.push_image(repo, "v2")
    with env_registries(server) as regs:
        resolve(regs, server, repo, "v1")
        source = regs.source_for(ImageRef(server.host, repo, tag="v1"))
        assert isinstance(source, RemoteSource)
        token, expires = source.auth._tokens[pull_scope(repo)]
        # expires_in=300 from the token server, minus a safety margin
        assert 250 < expires - time.monotonic() <= 300
        source.auth._tokens[pull_scope(repo)] = (token, time.monotonic() - 1)  # pretend it expired
        resolve(regs, server, repo, "v2")
    assert server.token_server.count(server.username, pull_scope(repo)) == 2


# -- WWW-Authenticate parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
            [
                Challenge(
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:library/nginx:pull",
                    },
                )
            ],
        ),
        ('Basic realm="Registry Realm"', [Challenge("basic", {"realm": "Registry Realm"})]),
        (
            'Bearer realm="https://r/t?a=1,b=2", scope="repository:a/b:pull,push", error="insufficient_scope"',
            [
                Challenge(
                    "bearer",
                    {
                        "realm": "https://r/t?a=1,b=2",
                        "scope": "repository:a/b:pull,push",
                        "error": "insufficient_scope",
                    },
                )
            ],
        ),
        (
            'Basic realm="x", Bearer realm="https://t/token",service=svc',
            [Challenge("basic", {"realm": "x"}), Challenge("bearer", {"realm": "https://t/token", "service": "svc"})],
        ),
        ('BEARER Realm = "a\\"b" ', [Challenge("bearer", {"realm": 'a"b'})]),
        ("Negotiate", [Challenge("negotiate", {})]),
        ("", []),
    ],
)
def test_parse_challenges(header: str, expected: list[Challenge]) -> None:
    assert parse_challenges(header) == expected


# -- Docker Hub names -----------------------------------------------------------------------------------------


def test_docker_hub_names_share_credentials(tmp_path: Path) -> None:
    from sigverify.registry import api_host
    from sigverify.registry.credentials import Keychain

    config = write_config(
        tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw").decode()}}}
    )
    keychain = Keychain({}, env={}, docker_config_dir=str(config))
    for name in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        cred = keychain.get(name)
        assert cred is not None and (cred.username, cred.password) == ("hub", "pw")
    assert keychain.get("ghcr.io") is None
    assert api_host("docker.io") == "registry-1.docker.io" and api_host("ghcr.io") == "ghcr.io"
    assert "pw" not in repr(keychain.get("docker.io"))


def test_malformed_docker_config_is_a_clear_error(tmp_path: Path) -> None:
    from sigverify.registry.credentials import Keychain

    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RegistryError) as exc:
        Keychain({}, env={}, docker_config_dir=str(tmp_path)).get("example.com")
    assert exc.value.code == Code.AUTH_ERROR and "not valid JSON" in exc.value.message


def test_token_without_access_is_access_denied(token_registry: RegistryServer) -> None:
    server = token_registry
    assert server.token_server is not None
    repo = unique_repo()
    server.push_image(repo, "v1")
    server.token_server.denied.add(repo)
    with env_registries(server) as regs:
        with pytest.raises(RegistryError) as exc:
            resolve(regs, server, repo)
        assert exc.value.code == Code.AUTH_ERROR
        assert f"access denied to repository {repo}" in exc.value.message and server.username in exc.value.message
        assert_no_secret(exc.value, server.password)
        assert server.token_server.count(server.username, pull_scope(repo)) == 1  # fresh token refused: give up
        with pytest.raises(RegistryError) as exc:
            resolve(regs, server, repo)
        assert exc.value.code == Code.AUTH_ERROR
        # a cached token refused: one fresh token (it may have expired early), then give up
        assert server.token_server.count(server.username, pull_scope(repo)) == 2


def test_parse_challenges_terminates_on_garbage() -> None:
    import random

    rng = random.Random(1234)
    alphabet = 'Bearer realm="a,b" , = \\ "x\t'
    for _ in range(5000):
        header = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for challenge in parse_challenges(header):
            assert challenge.scheme and challenge.scheme == challenge.scheme.lower()
