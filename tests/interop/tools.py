"""Drive the real tools (cosign v2/v3, notation) and the sigverify CLI on the same images and trust material."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TOOL_TIMEOUT = 120


class SigverifyDisagrees(AssertionError):
    """sigverify's verdict differs from the expected one (the tool's, or the documented stricter one).

    Only this exception is covered by the ``xfail(raises=...)`` of capabilities not built yet, so a broken
    test setup (the tool itself failing to sign or verify as expected) is never hidden as an expected failure.
    """


@dataclass
class Run:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.code}\n--- stdout\n{self.stdout[-3000:]}"
            f"\n--- stderr\n{self.stderr[-3000:]}"
        )


def run(argv: list[str], env: dict[str, str], check: bool = False, stdin: str | None = None) -> Run:
    p = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT, input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    r = Run(argv, p.returncode, p.stdout, p.stderr)
    if check and r.code != 0:
        raise AssertionError(f"tool failed (test setup):\n{r.describe()}")
    return r


# ---------------------------------------------------------------------------------------------------------------
# cosign
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Cosign:
    """One cosign binary (v2 or v3) run offline: no Rekor upload, no Fulcio, no TUF."""

    binary: str
    major: int
    env: dict[str, str]
    # A trusted root file keeps verify offline: without one cosign v2 tries the TUF CDN first (and warns when it
    # fails). Any valid root works with --key and --insecure-ignore-tlog; the tests pass sigstore-python's.
    trusted_root: Path | None = None

    def generate_key_pair(self, workdir: Path, name: str) -> tuple[Path, Path]:
        workdir.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(
            [self.binary, "generate-key-pair", "--output-key-prefix", name],
            env=self.env, cwd=workdir, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if p.returncode != 0:
            raise AssertionError(f"cosign generate-key-pair failed: {p.stderr}")
        return workdir / f"{name}.key", workdir / f"{name}.pub"

    def import_key_pair(self, workdir: Path, pem: Path, name: str) -> tuple[Path, Path]:
        p = subprocess.run(
            [self.binary, "import-key-pair", "--key", str(pem), "--output-key-prefix", name],
            env=self.env, cwd=workdir, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if p.returncode != 0:
            raise AssertionError(f"cosign import-key-pair failed: {p.stderr}")
        return workdir / f"{name}.key", workdir / f"{name}.pub"

    def _sign_flags(self, bundle: bool) -> list[str]:
        flags = ["--yes", "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry"]
        if self.major >= 3:
            flags += ["--use-signing-config=false", f"--new-bundle-format={'true' if bundle else 'false'}"]
        return flags

    def _verify_flags(self) -> list[str]:
        flags = ["--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry"]
        if self.trusted_root is not None:
            flags.append(f"--trusted-root={self.trusted_root}")
        return flags

    def sign(self, ref: str, key: Path, annotations: dict[str, str] | None = None, bundle: bool = True,
             extra: tuple[str, ...] = ()) -> Run:
        argv = [self.binary, "sign", "--key", str(key), *self._sign_flags(bundle), *extra]
        for k, v in (annotations or {}).items():
            argv += ["-a", f"{k}={v}"]
        return run([*argv, ref], self.env, check=True)

    def attest(self, ref: str, key: Path, predicate: Path, type_: str, bundle: bool = True) -> Run:
        argv = [self.binary, "attest", "--key", str(key), "--predicate", str(predicate), "--type", type_,
                *self._sign_flags(bundle), ref]
        return run(argv, self.env, check=True)

    def verify(self, ref: str, key: Path, annotations: dict[str, str] | None = None,
               extra: tuple[str, ...] = ()) -> Run:
        argv = [self.binary, "verify", "--key", str(key), *self._verify_flags(), *extra]
        for k, v in (annotations or {}).items():
            argv += ["-a", f"{k}={v}"]
        return run([*argv, ref], self.env)

    def verify_attestation(self, ref: str, key: Path, type_: str) -> Run:
        argv = [self.binary, "verify-attestation", "--key", str(key), "--type", type_, *self._verify_flags(), ref]
        return run(argv, self.env)


# ---------------------------------------------------------------------------------------------------------------
# notation
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Notation:
    """notation with a private config dir (XDG_CONFIG_HOME in env), test certificates from generate-test."""

    binary: str
    env: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "notation"

    def generate_test_cert(self, name: str) -> Path:
        """`notation cert generate-test --default NAME`: a self-signed CA/leaf added to trust store ca/NAME."""
        run([self.binary, "cert", "generate-test", "--default", name], self.env, check=True)
        cert = self.config_dir / "localkeys" / f"{name}.crt"
        assert cert.is_file(), f"notation did not write {cert}"
        return cert

    def sign(self, ref: str, key_name: str, fmt: str) -> Run:
        return run([self.binary, "sign", "--insecure-registry", "--key", key_name, "--signature-format", fmt, ref],
                   self.env, check=True)

    def trust_policy(self, store: str, identities: list[str] | None = None) -> None:
        policy = {
            "version": "1.0",
            "trustPolicies": [
                {
                    "name": "interop",
                    "registryScopes": ["*"],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": [f"ca:{store}"],
                    "trustedIdentities": identities or ["*"],
                }
            ],
        }
        p = self.config_dir / "trustpolicy.oci.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(policy))
        # notation < 1.2 reads trustpolicy.json; write both so the pinned version does not matter
        (self.config_dir / "trustpolicy.json").write_text(json.dumps(policy))

    def verify(self, ref: str) -> Run:
        return run([self.binary, "verify", "--insecure-registry", ref], self.env)


# ---------------------------------------------------------------------------------------------------------------
# sigverify
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class SigverifyResult:
    run: Run
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def image(self) -> dict[str, Any]:
        images = self.report.get("images") or []
        if len(images) != 1:
            raise SigverifyDisagrees(f"expected one image in the JSON report, found {len(images)}:\n"
                                     f"{self.run.describe()}")
        return dict(images[0])

    @property
    def verdict(self) -> str:
        """``pass``/``fail``/``warn``/``error`` from the report; ``exit-N`` when there is no report (N = 2, 3)."""
        if not self.report:
            return f"exit-{self.run.code}"
        return str(self.image.get("verdict"))

    @property
    def codes(self) -> set[str]:
        return {str(r.get("code")) for r in self.image.get("reasons", [])} if self.report else set()


def write_config(path: Path, images: list[str], host: str, authorities: list[dict[str, Any]],
                 threshold: int | None = None, attestations: list[dict[str, Any]] | None = None) -> Path:
    policy: dict[str, Any] = {"name": "interop", "match": [f"{host}/**"], "authorities": authorities}
    if threshold is not None:
        policy["threshold"] = threshold
    if attestations:
        policy["attestations"] = attestations
    cfg = {"version": 1, "images": images, "registries": {host: {"insecure": True}}, "policies": [policy]}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def key_authority(name: str, pub: Path, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    a: dict[str, Any] = {"name": name, "key": {"path": str(pub)}, "tlog": "ignore"}
    if annotations:
        a["annotations"] = annotations
    return a


def sigverify(config: Path, env: dict[str, str] | None = None) -> SigverifyResult:
    """Run the real CLI (``python -m sigverify verify --config X --format json``) and parse its report."""
    e = dict(env if env is not None else os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    r = run([sys.executable, "-m", "sigverify", "verify", "--config", str(config), "--format", "json"], e)
    report: dict[str, Any] = {}
    if r.code in (0, 1):
        try:
            report = json.loads(r.stdout)
        except ValueError as exc:
            raise SigverifyDisagrees(f"sigverify printed no JSON report ({exc}):\n{r.describe()}") from exc
    return SigverifyResult(r, report)


def expect(result: SigverifyResult, verdict: str, codes: set[str] | None = None, why: str = "") -> None:
    """Assert sigverify's verdict (and that the reasons include ``codes``); raise SigverifyDisagrees if not."""
    got = result.verdict
    if got != verdict or (codes and not (codes & result.codes)):
        raise SigverifyDisagrees(
            f"sigverify verdict {got} {sorted(result.codes)}, expected {verdict}"
            f"{' with one of ' + str(sorted(codes)) if codes else ''} ({why}).\n{result.run.describe()}"
        )
