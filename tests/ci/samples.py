"""Hand-built RunResult values covering every verdict shape the CI renderers must handle."""

from __future__ import annotations

from sigverify.models import (
    Code,
    Format,
    ImageResult,
    PolicyResult,
    Reason,
    RunResult,
    SignatureCheck,
    Verdict,
)

D_APP = "sha256:" + "a" * 64
D_WORKER = "sha256:" + "b" * 64
D_WARN = "sha256:" + "c" * 64
D_MULTI = "sha256:" + "d" * 64
D_OTHER = "sha256:" + "e" * 64
LAYER = "sha256:" + "f" * 64

# Hostile text: markdown/HTML/table syntax, an XML-invalid control character, GitHub workflow-command syntax.
HOSTILE = "evil|<script>alert(1)</script> **bold** [x](http://e.invalid) `tick`\x01\n::error::injected %0A"


def passing(ref: str = "localhost:5000/team/app:1.2.3", line: int = 3) -> ImageResult:
    return ImageResult(
        reference=ref,
        resolved=f"{ref.rsplit(':', 1)[0]}@{D_APP}",
        digest=D_APP,
        verdict=Verdict.PASS,
        policies=(PolicyResult("team-release", "enforce", True, 1, ("release-key",)),),
        signatures=(
            SignatureCheck(
                Format.COSIGN_CLASSIC, "tag sha256-aaaa.sig", LAYER, "release-key", True, signer="SHA256:k1"
            ),
        ),
        source_file="sigverify.yaml",
        source_line=line,
        duration_ms=12.5,
    )


def failing() -> ImageResult:
    reason = Reason(
        Code.DIGEST_MISMATCH,
        "the signature is bound to another digest",
        expected=D_WORKER,
        found=D_OTHER,
        policy="team-release",
        authority="release-key",
    )
    return ImageResult(
        reference="localhost:5000/team/worker:2.0",
        resolved=f"localhost:5000/team/worker@{D_WORKER}",
        digest=D_WORKER,
        verdict=Verdict.FAIL,
        policies=(PolicyResult("team-release", "enforce", False, 1, (), (reason,)),),
        signatures=(SignatureCheck(Format.COSIGN_CLASSIC, "tag sha256-bbbb.sig", LAYER, "release-key", False, reason),),
        source_file="sigverify.yaml",
        source_line=4,
        duration_ms=20.0,
    )


def warned() -> ImageResult:
    reason = Reason(Code.NO_SIGNATURE, "no signature is stored for the digest", expected="1 signature", found="0")
    return ImageResult(
        reference="localhost:5000/sandbox/tool:dev",
        resolved=f"localhost:5000/sandbox/tool@{D_WARN}",
        digest=D_WARN,
        verdict=Verdict.WARN,
        policies=(PolicyResult("sandbox", "warn", False, 1, (), (reason,)),),
        source_file="sigverify.yaml",
        source_line=5,
        duration_ms=5.0,
    )


def errored() -> ImageResult:
    return ImageResult(
        reference="localhost:5000/team/gone:1",
        resolved="localhost:5000/team/gone:1",
        digest=None,
        verdict=Verdict.ERROR,
        policies=(PolicyResult("team-release", "enforce", False, 1, ()),),
        reasons=(Reason(Code.NOT_FOUND, "manifest unknown: GET http://localhost:5000/v2/team/gone/manifests/1"),),
        source_file="sigverify.yaml",
        source_line=6,
    )


def no_policy() -> ImageResult:
    return ImageResult(
        reference="docker.io/library/nginx:latest",
        resolved=f"docker.io/library/nginx@{D_OTHER}",
        digest=D_OTHER,
        verdict=Verdict.FAIL,
        reasons=(Reason(Code.NO_POLICY, "no policy matches docker.io/library/nginx", expected="a matching policy"),),
        source_file=None,  # from the command line
    )


def multi_policy() -> ImageResult:
    """Two policies: one passes, one fails (threshold), so the image fails."""
    reason = Reason(
        Code.THRESHOLD_NOT_MET,
        "1 of 2 required authorities verified",
        expected="2 distinct authorities",
        found="1 (release-key)",
        policy="two-person",
    )
    return ImageResult(
        reference="localhost:5000/team/db:9",
        resolved=f"localhost:5000/team/db@{D_MULTI}",
        digest=D_MULTI,
        verdict=Verdict.FAIL,
        policies=(
            PolicyResult("team-release", "enforce", True, 1, ("release-key",)),
            PolicyResult("two-person", "enforce", False, 2, ("release-key",), (reason,)),
        ),
        source_file="sigverify.yaml",
        source_line=7,
        duration_ms=30.0,
    )


def hostile() -> ImageResult:
    reason = Reason(Code.ANNOTATION_MISMATCH, HOSTILE, expected="env=prod", found=HOSTILE, policy="p|1")
    return ImageResult(
        reference="localhost:5000/x/y:z",
        resolved="localhost:5000/x/y@" + D_OTHER,
        digest=D_OTHER,
        verdict=Verdict.FAIL,
        policies=(PolicyResult("p|1", "enforce", False, 1, (), (reason,)),),
        source_file="conf,dir:x/sig.yaml",
        source_line=9,
    )


def run(*images: ImageResult, fail_on_warn: bool = False, shard: str | None = None) -> RunResult:
    return RunResult(
        images=tuple(images),
        config_path="sigverify.yaml",
        tool_version="0.1.0",
        fail_on_warn=fail_on_warn,
        shard=shard,
    )


def mixed(fail_on_warn: bool = False) -> RunResult:
    return run(passing(), failing(), warned(), errored(), no_policy(), multi_policy(), fail_on_warn=fail_on_warn)
