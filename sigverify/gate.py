"""Run every stage for every image, concurrently; failures are values; returns the RunResult."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sigverify import __version__
from sigverify.discovery import Discovery, discover
from sigverify.errors import ConfigError, RegistryError, SigverifyError
from sigverify.evaluate import REGISTRY_CODES, describe_authority, evaluate_policy, image_verdict
from sigverify.evaluate.platforms import (
    combine,
    index_children,
    is_index,
    manifest_platform,
    plan,
    single_platform,
    wants_platforms,
    worst,
)
from sigverify.evaluate.waivers import apply_waivers, unused
from sigverify.formats import applicable, verifier_for, wanted_formats
from sigverify.formats.base import VerifyContext, crash_reason
from sigverify.models import (
    Candidate,
    Code,
    Descriptor,
    ImageRef,
    ImageResult,
    PolicyResult,
    Reason,
    RunResult,
    SignatureCheck,
    Verdict,
)
from sigverify.policy.model import Authority, BlobEntry, Config, Policy

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.registry import Registries, Source


@dataclass(frozen=True)
class Target:
    """An image to verify: the parsed reference and where the user listed it."""

    ref: ImageRef
    written: str  # as the user wrote it
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class GateOptions:
    concurrency: int = 64  # images in flight; each registry also caps its own requests (limits.py)
    offline: bool = False
    fail_on_warn: bool = False
    all_signatures: bool = False  # look in every storage even when the classic signatures already decide
    shard: str | None = None


@dataclass
class _ImageWork:
    """Mutable per-image state while the stages run (never shared between threads)."""

    candidates: list[Candidate] = field(default_factory=list)
    discovery: Discovery = field(default_factory=Discovery)
    checks: dict[tuple[str, str], list[SignatureCheck]] = field(default_factory=dict)


def _formats_for(policies: Sequence[Policy]) -> tuple[list[str], list[str]]:
    """Formats worth looking for (tag-stored first, referrer-stored second): only those a verifier exists for."""
    return wanted_formats([([a.kind for a in p.authorities], bool(p.attestations)) for p in policies])


def _check(candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
    verifier = verifier_for(candidate.format, authority.kind)
    if verifier is None:  # pragma: no cover - callers ask applicable() first
        raise AssertionError("no verifier")
    try:
        return verifier.verify(candidate, authority, ctx)
    except ConfigError:
        raise  # broken trust material decides nothing: the whole image is an error, said as such
    except Exception as exc:  # a verifier bug must never become a pass; exhausted recursion/memory is RESOURCE_LIMIT
        return SignatureCheck(
            format=candidate.format, storage=candidate.storage, layer_digest=candidate.layer.digest,
            authority=authority.name, ok=False, reason=crash_reason(exc, "verifier", authority.name),
        )


def _verify_new(work: _ImageWork, new: Sequence[Candidate], policies: Sequence[Policy], ctx: VerifyContext) -> None:
    for policy in policies:
        for authority in policy.authorities:
            bucket = work.checks.setdefault((policy.name, authority.name), [])
            for candidate in new:
                if applicable(candidate.format, authority.kind):
                    bucket.append(_check(candidate, authority, ctx))


def _evaluate(work: _ImageWork, policies: Sequence[Policy]) -> list[PolicyResult]:
    return [
        evaluate_policy(
            policy,
            {a.name: work.checks.get((policy.name, a.name), []) for a in policy.authorities},
            work.candidates,
            work.discovery.problems,
            work.discovery.looked_in,
        )
        for policy in policies
    ]


def _result(target: Target, verdict: Verdict, started: float, *, digest: str | None = None,
            policies: Sequence[PolicyResult] = (), reasons: Sequence[Reason] = (),
            signatures: Sequence[SignatureCheck] = ()) -> ImageResult:
    resolved = str(target.ref.with_digest(digest)) if digest else str(target.ref)
    return ImageResult(
        reference=target.written, resolved=resolved, digest=digest, verdict=verdict, policies=tuple(policies),
        reasons=tuple(reasons), signatures=tuple(signatures), source_file=target.file, source_line=target.line,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def verify_image(target: Target, config: Config, registries: Registries, trust: TrustStore,
                 options: GateOptions) -> ImageResult:
    """Everything for one image (and its platform rows), waivers applied. Never raises: every failure becomes a
    verdict with reasons."""
    started = time.perf_counter()
    result = _guarded(target, started, lambda: _verify_image(target, config, registries, trust, options, started))
    return apply_waivers(result, target.ref.name, config.waivers)


def _guarded(target: Target, started: float, work: Callable[[], ImageResult]) -> ImageResult:
    try:
        return work()
    except SigverifyError as exc:
        verdict = Verdict.ERROR if isinstance(exc, ConfigError) or exc.code in REGISTRY_CODES | {
            Code.INSECURE_REFUSED} else Verdict.FAIL
        return _result(target, verdict, started,
                       reasons=[Reason(exc.code, exc.message_and_tip(), exc.expected, exc.found)])
    except Exception as exc:  # fail closed: an error verdict; exit 3 only for a bug, not for hostile content
        return _result(target, Verdict.ERROR, started, reasons=[crash_reason(exc, f"verifying {target.written}")])


def _verify_image(target: Target, config: Config, registries: Registries, trust: TrustStore,
                  options: GateOptions, started: float) -> ImageResult:
    ref = target.ref
    policies = config.policies_for(ref.name)
    if not policies:
        if config.default == "allow":
            return _result(target, Verdict.PASS, started, reasons=[Reason(
                Code.DEFAULT_ALLOW, f"no policy matches {ref.name}; allowed only because the config says "
                "`default: allow` (nothing was verified)")])
        return _result(target, Verdict.FAIL, started, reasons=[Reason(
            Code.NO_POLICY, f"no policy matches {ref.name}",
            expected="a policy whose match covers " + ref.name,
            found="policies: " + ("; ".join(f"{p.name} {[str(m) for m in p.match]}" for p in config.policies)
                                  or "none"))])

    source = registries.source_for(ref)
    try:
        subject = source.resolve(ref)
    except RegistryError as exc:
        verdict = Verdict.FAIL if exc.code in {Code.DIGEST_MISMATCH, Code.SIZE_LIMIT} else Verdict.ERROR
        return _result(target, verdict, started, digest=ref.digest, reasons=[
            Reason(exc.code, f"cannot resolve {ref}: {exc.message_and_tip()}", exc.expected, exc.found)])
    digest = subject.digest
    if ref.digest is not None and digest != ref.digest:
        return _result(target, Verdict.FAIL, started, digest=ref.digest, reasons=[Reason(
            Code.DIGEST_MISMATCH, "the registry resolved the reference to another digest",
            expected=ref.digest, found=digest)])
    if wants_platforms(policies) and is_index(subject):
        result = _verify_index(target, config, policies, source, subject, trust, options, started)
    else:
        result = _verify_digest(target, policies, source, subject, trust, options, started)
        if any(isinstance(p.platforms, tuple) for p in policies) and not is_index(subject):
            result = single_platform(result, manifest_platform(source, ref, digest), policies)
    return _require_digest(result, target, policies, digest)


def _require_digest(result: ImageResult, target: Target, policies: Sequence[Policy], digest: str) -> ImageResult:
    """``require_digest: true``: a reference by tag only fails, naming the digest to pin it to."""
    pinning = [p for p in policies if p.require_digest]
    if not pinning or target.ref.digest is not None:
        return result
    names = ", ".join(p.name for p in pinning)
    reason = Reason(Code.DIGEST_REQUIRED, f"{target.written} names a tag only; policy {names} requires a digest: "
                    f"pin it to the digest the tag resolves to now", expected=str(target.ref.with_digest(digest)),
                    found=target.written, policy=pinning[0].name)
    own = Verdict.WARN if all(p.mode == "warn" for p in pinning) else Verdict.FAIL
    return replace(result, verdict=worst(result.verdict, own), reasons=(reason, *result.reasons))


def _verify_index(target: Target, config: Config, policies: Sequence[Policy], source: Source, subject: Descriptor,
                  trust: TrustStore, options: GateOptions, started: float) -> ImageResult:
    """An image index under ``platforms: all`` or a list: the index against the ``index`` policies, and every
    selected platform manifest (digest from the index, digest-checked when fetched) as its own row."""
    selection = plan(index_children(source, target.ref, subject.digest), policies)
    own = [p for p in policies if p.platforms == "index"]
    if own:
        parent = _verify_digest(target, own, source, subject, trust, options, started)
    else:
        parent = _result(target, Verdict.PASS, started, digest=subject.digest)
    rows = []
    for child_digest, (platform, child_policies) in selection.children.items():
        child = Target(target.ref.with_digest(child_digest), target.written, target.file, target.line)
        row_started = time.perf_counter()

        def _one(child: Target = child, pols: Sequence[Policy] = child_policies, at: float = row_started
                 ) -> ImageResult:
            return _verify_digest(child, pols, source, source.resolve(child.ref), trust, options, at)

        row = _guarded(child, row_started, _one)
        rows.append(apply_waivers(replace(row, platform=platform), target.ref.name, config.waivers))
    return combine(parent, rows, selection.missing, policies)


def _verify_digest(target: Target, policies: Sequence[Policy], source: Source, subject: Descriptor,
                   trust: TrustStore, options: GateOptions, started: float) -> ImageResult:
    """The stages for one digest: discover the wanted formats, verify, evaluate every policy."""
    ref = target.ref
    digest = subject.digest
    if ref.digest is not None and digest != ref.digest:
        return _result(target, Verdict.FAIL, started, digest=ref.digest, reasons=[Reason(
            Code.DIGEST_MISMATCH, "the registry resolved the reference to another digest",
            expected=ref.digest, found=digest)])
    ctx = VerifyContext(image=ref, digest=digest, subject=subject, trust=trust, offline=options.offline)
    work = _ImageWork()
    tag_formats, referrer_formats = _formats_for(policies)
    results: list[PolicyResult] = []
    stages = [s for s in (tag_formats, referrer_formats) if s]
    for i, formats in enumerate(stages):
        found = discover(source, ref, digest, formats)
        work.discovery.extend(found)
        work.candidates.extend(found.candidates)
        _verify_new(work, found.candidates, policies, ctx)
        results = _evaluate(work, policies)
        last = i == len(stages) - 1
        # Classic signatures are cheap to find; the referrers are asked only when they could change the outcome.
        if not last and not options.all_signatures and all(r.passed and not r.warnings for r in results):
            break
    if not stages:
        results = _evaluate(work, policies)

    checks = [c for cs in work.checks.values() for c in cs]
    checked = {(c.format, c.layer_digest) for c in checks}
    for cand in work.candidates:
        if (cand.format, cand.layer.digest) not in checked:
            checks.append(SignatureCheck(
                format=cand.format, storage=cand.storage, layer_digest=cand.layer.digest, authority="-", ok=False,
                reason=Reason(Code.NOT_APPLICABLE, "no authority of the matching policies verifies this format: "
                              + ", ".join(describe_authority(a) for p in policies for a in p.authorities))))
    verdict = image_verdict(results)
    reasons = [r for pr in results for r in pr.reasons] + [w for pr in results for w in pr.warnings]
    return _result(target, verdict, started, digest=digest, policies=results, reasons=reasons, signatures=checks)


def verify_file(entry: BlobEntry, config: Config, trust: TrustStore, *, offline: bool = True) -> ImageResult:
    """One ``files:`` entry (a release binary, tarball or SBOM signed with Sigstore): the same policy rules as
    images, reported as ``file:<path>``. Never raises."""
    started = time.perf_counter()
    target = Target(ref=ImageRef("file", entry.path, original=entry.path), written=f"file:{entry.path}",
                    file=entry.location.file if entry.location else None,
                    line=entry.location.line if entry.location else None)
    if entry.policy is not None:
        policies = [p for p in config.policies if p.name == entry.policy]
    else:
        policies = list(config.policies) if len(config.policies) == 1 else []
    if not policies:
        return _result(target, Verdict.FAIL, started, reasons=[Reason(
            Code.NO_POLICY, f"no policy applies to file {entry.path}",
            expected="`policy: <name>` on the files entry (or exactly one policy in the config)",
            found=f"{len(config.policies)} policies")])
    try:
        from sigverify.formats.blob_files import load_file
        from sigverify.formats.blob_files import verify_file as _verify

        blob = load_file(entry)
        digest = "sha256:" + blob.sha256.hex()
        results = []
        all_checks: list[SignatureCheck] = []
        for policy in policies:
            checks = _verify(entry, policy.authorities, trust, blob=blob, offline=offline)
            all_checks.extend(checks)
            by_authority: dict[str, list[SignatureCheck]] = {}
            for check in checks:
                by_authority.setdefault(check.authority, []).append(check)
            results.append(evaluate_policy(policy, by_authority, [], looked_in=[entry.bundle or entry.signature
                                                                               or "(no signature given)"]))
    except OSError as exc:
        return _result(target, Verdict.FAIL, started, reasons=[Reason(
            Code.NOT_FOUND, f"cannot read {entry.path}: {exc.strerror}")])
    except RegistryError as exc:  # the https download of the file failed (size, deadline, status, TLS)
        return _result(target, Verdict.ERROR, started, reasons=[Reason(exc.code, exc.message_and_tip(),
                                                                       exc.expected, exc.found)])
    except Exception as exc:  # fail closed
        return _result(target, Verdict.ERROR, started, reasons=[crash_reason(exc, f"verifying {entry.path}")])
    reasons = [r for pr in results for r in pr.reasons] + [w for pr in results for w in pr.warnings]
    return ImageResult(reference=target.written, resolved=entry.path, digest=digest, verdict=image_verdict(results),
                       policies=tuple(results), reasons=tuple(reasons), signatures=tuple(all_checks),
                       source_file=target.file, source_line=target.line,
                       duration_ms=(time.perf_counter() - started) * 1000)


def shard(targets: Sequence[Target], spec: str | None) -> list[Target]:
    """``I/N``: the I-th of N deterministic, balanced slices (round robin over the de-duplicated list order)."""
    if not spec:
        return list(targets)
    index, total = (int(x) for x in spec.split("/"))
    return [t for k, t in enumerate(targets) if k % total == index - 1]


def _prewarm(config: Config) -> threading.Thread | None:
    """Keyless policies need sigstore-python (about a second of imports): start importing it in the background
    while the first registry requests are in flight. Import locks make this safe; a failure shows up later.
    The caller joins the thread before returning: a daemon thread still inside a compiled extension's import when
    the interpreter finalises can abort the process (exit 134/139) after a correct report."""
    if any(a.kind == "keyless" for p in config.policies for a in p.authorities):
        import contextlib
        import importlib

        def _load() -> None:
            # the adapter imports sigstore only inside its functions: warm what they import (public modules)
            for name in ("sigverify.crypto.sigstore_adapter", "sigstore.verify", "sigstore.models", "sigstore.dsse"):
                with contextlib.suppress(Exception):  # the verifier imports it again and reports the error
                    importlib.import_module(name)

        thread = threading.Thread(target=_load, name="sigverify-prewarm")
        thread.start()
        return thread
    return None


def _in_threads(work: Callable[[Target], ImageResult], targets: Sequence[Target], workers: int) -> list[ImageResult]:
    """``work`` on every target in ``workers`` threads, results in the targets' order; a worker's exception is
    raised here once every thread has stopped (``work`` turns failures into results: this is for the unforeseen)."""
    results: list[ImageResult | None] = [None] * len(targets)
    errors: list[BaseException] = []
    next_index = iter(range(len(targets)))
    lock = threading.Lock()

    def worker() -> None:
        while not errors:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            try:
                results[i] = work(targets[i])
            except BaseException as exc:  # handed to the caller below, once every thread stopped
                errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"sigverify_{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    missing = [targets[i].ref for i, r in enumerate(results) if r is None]
    if missing:  # cannot happen without an error above; never hand on a short list
        raise RuntimeError(f"no result for {len(missing)} image(s)")
    return [r for r in results if r is not None]


def run(config: Config, targets: Sequence[Target], options: GateOptions, *,
        registries: Registries | None = None, trust: TrustStore | None = None) -> RunResult:
    """Verify every target (bounded concurrency); results keep the input order."""
    from sigverify.crypto.trustroot import TrustStore as _TrustStore
    from sigverify.registry import Registries as _Registries

    warming = _prewarm(config)
    notes = () if options.shard else tuple(  # a shard sees only some of the images: no note there
        f"the {w.label} matches no image of this run: fix its images or remove it"
        for w in unused(config.waivers, (t.ref.name for t in targets)))
    own_registries = registries is None
    regs = registries or _Registries(config.registries, pool_size=max(options.concurrency, 4))
    trust_store = trust or _TrustStore(config.trust_root, offline=options.offline)
    try:
        if options.concurrency <= 1 or len(targets) <= 1:
            images = [verify_image(t, config, regs, trust_store, options) for t in targets]
        else:
            images = _in_threads(lambda t: verify_image(t, config, regs, trust_store, options), targets,
                                 min(options.concurrency, len(targets)))
        if options.shard is None or options.shard.startswith("1/"):  # files are verified once, by the first shard
            images.extend(verify_file(entry, config, trust_store, offline=options.offline) for entry in config.files)
    finally:
        if own_registries:
            regs.close()
        if warming is not None:
            warming.join()  # imports only: it ends; never leave it running into interpreter shutdown
    return RunResult(
        images=tuple(images), config_path=config.path, tool_version=__version__,
        trust_root=trust_store.label, fail_on_warn=options.fail_on_warn, shard=options.shard, notes=notes,
    )
