"""SARIF 2.1.0 of a run, for GitHub code scanning: one result per failed image and policy."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sigverify.models import Code, RunResult
from sigverify.report import DIGEST_CONTRACT
from sigverify.report._cases import Case, describe, is_failing, run_cases
from sigverify.report.safe import sanitized

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"

# code -> (short description, help). Help says what the code means and what to do about it.
_RULES: dict[str, tuple[str, str]] = {
    Code.NO_POLICY: (
        "The image matched no policy",
        "No policy's `match` pattern covers this image and the configuration's default is deny. Add a "
        "policy that matches the image, or fix the image reference.",
    ),
    Code.DEFAULT_ALLOW: (
        "The image passed only because the default is allow",
        "No policy matched and `default: allow` let the image through unverified. Add a policy for it.",
    ),
    Code.NO_SIGNATURE: (
        "No signature is stored for the image digest",
        "Nothing signed this digest: no cosign `.sig` tag, Sigstore bundle or Notary Project signature "
        "was found. Sign the image (`cosign sign`, `notation sign`) and push the signature to the same "
        "repository.",
    ),
    Code.NO_MATCHING_SIGNATURE: (
        "Signatures exist, but none verified with the policy's authorities",
        "The stored signatures were made by other keys or identities than the policy trusts, or did not "
        "verify. Compare the expected authority with the signer shown in the result.",
    ),
    Code.THRESHOLD_NOT_MET: (
        "Fewer distinct signers verified than the threshold",
        "The policy requires signatures by more distinct signers than verified. One key, KMS key or "
        "certificate identity counts once, however many authorities accept it. Add the missing signatures "
        "or lower the threshold.",
    ),
    Code.DIGEST_MISMATCH: (
        "A signature or content is bound to another digest",
        "The signed payload names a different image digest than the one resolved: the signature belongs to "
        "another image. Re-sign the image that is deployed.",
    ),
    Code.ANNOTATION_MISMATCH: (
        "Signed annotations differ from the policy",
        "The policy requires annotations in the signed payload that are missing or have other values.",
    ),
    Code.TLOG_INVALID: (
        "Transparency-log proof missing or invalid",
        "The signature has no valid Rekor entry bound to it. Sign with the transparency log on, or set "
        "`tlog: ignore` for a key authority if that is your policy.",
    ),
    Code.INVALID_SIGNATURE: (
        "The cryptographic signature check failed",
        "The signature does not verify over its payload with the authority's key or certificate.",
    ),
    Code.INVALID_PAYLOAD: (
        "The signed payload is malformed",
        "The signed payload is not the JSON the format requires (bad JSON, duplicate keys, wrong types).",
    ),
    Code.UNSUPPORTED_FORMAT: (
        "A stored signature object has an unsupported format",
        "sigverify found an object it cannot verify; unknown formats never count as a pass.",
    ),
    Code.IDENTITY_MISMATCH: (
        "Keyless certificate identity differs from the policy",
        "The Fulcio certificate's subject, issuer or extensions do not match the policy's identity.",
    ),
    Code.CERTIFICATE_INVALID: (
        "Certificate chain, validity, EKU or SCT check failed",
        "The signing certificate does not chain to the trust root or was not valid when the signature "
        "was made.",
    ),
    Code.ATTESTATION_MISSING: (
        "A required attestation is absent",
        "Attach the required attestation (`cosign attest`) for the image digest.",
    ),
    Code.ATTESTATION_MISMATCH: (
        "A required attestation's condition failed",
        "The attestation exists but its predicate does not satisfy the policy's condition.",
    ),
    Code.EXPIRED: ("The signature has expired", "Re-sign the image with a fresh signature."),
    Code.REVOKED: (
        "Certificate revoked, or revocation could not be checked",
        "The signing certificate is revoked (or its status is unknown under a strict revocation policy).",
    ),
    Code.KEY_ERROR: (
        "Key material could not be loaded",
        "The authority's public key (file, PEM, environment variable or KMS) could not be read.",
    ),
    Code.AUTH_ERROR: (
        "Registry authentication failed",
        "Provide registry credentials (docker config.json or environment) with pull access.",
    ),
    Code.NOT_FOUND: ("The image or tag was not found", "Check the reference: registry, repository and tag."),
    Code.RATE_LIMITED: (
        "The registry rate-limited requests",
        "Retry later or authenticate to raise the limit.",
    ),
    Code.REGISTRY_ERROR: (
        "The registry returned an error",
        "The registry failed; the image was not verified.",
    ),
    Code.TIMEOUT: (
        "A request, the image or the run exceeded its time bound",
        "The registry (or a log or key service) did not answer in time; the image was not verified and "
        "did not pass. Retry, or raise `--timeout` if the server is known to be slow.",
    ),
    Code.SIZE_LIMIT: (
        "A registry object exceeded the size cap",
        "A manifest or blob was larger than allowed and was not read: an attack or a misconfiguration.",
    ),
    Code.INSECURE_REFUSED: (
        "Plain HTTP refused",
        "The registry is not listed as insecure; if intended, list it under `registries:` with "
        "`insecure: true`.",
    ),
    Code.INVALID_REFERENCE: ("The image reference is invalid", "Fix the image reference's syntax."),
    Code.SHARD_MISSING: (
        "A shard's report is missing from the merge",
        "Every shard job must upload its JSON report; the images of the missing shard were not verified.",
    ),
    Code.SHARD_DUPLICATE: (
        "A shard's report was given twice to the merge",
        "Pass exactly one JSON report per shard.",
    ),
    Code.SHARD_MISMATCH: (
        "The merged reports are not parts of one run",
        "Merge only the reports of one run: the same config and image list, the same shard count and the "
        "same sigverify version.",
    ),
    Code.INTERNAL_ERROR: (
        "sigverify failed internally",
        "An unexpected error stopped verification; the image did not pass. Please report it.",
    ),
}


def _rule(code: str) -> dict[str, Any]:
    short, help_text = _RULES.get(
        code, (f"Verification failed: {code}", "The image did not pass verification.")
    )
    return {
        "id": code,
        "name": "".join(part.capitalize() for part in code.lower().split("_")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": f"{short}. {help_text}"},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "supply-chain", "container"], "security-severity": "8.0"},
    }


def _lint_rule(code: str) -> dict[str, Any]:
    help_text = ("An identity rule or waiver of the configuration accepts more than intended (sigverify lint); "
                 "the result's message says where and the fix.")
    return {
        "id": f"lint/{code}",  # apart from the verification codes (DEFAULT_ALLOW is both)
        "name": "Lint" + "".join(part.capitalize() for part in code.lower().split("_")),
        "shortDescription": {"text": f"Policy lint: {code}"},
        "fullDescription": {"text": help_text},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": "note"},
        "properties": {"tags": ["security", "supply-chain", "policy"]},
    }


def _artifact(path: str) -> dict[str, Any]:
    if path.startswith("/"):
        return {"uri": "file://" + path}
    return {"uri": path.removeprefix("./"), "uriBaseId": SRCROOT}


def _lint_results(result: RunResult, first_index: int) -> tuple[list[str], list[dict[str, Any]]]:
    """(rule ids, one ``note`` result per lint warning at the file:line of the key it is about)."""
    codes: list[str] = []
    out: list[dict[str, Any]] = []
    for w in result.lint:
        if w.code not in codes:
            codes.append(w.code)
        where = f"{w.where}: " if w.where else ""
        out.append({
            "ruleId": f"lint/{w.code}",
            "ruleIndex": first_index + codes.index(w.code),
            "level": "note",
            "message": {"text": f"{where}{w.message}\nfix: {w.fix}"},
            "partialFingerprints": {"sigverify/v1": hashlib.sha256(
                "\0".join(("lint", w.file, w.where, w.code, w.message)).encode()).hexdigest()},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(w.file),
                                                "region": {"startLine": max(w.line or 1, 1)}}}],
            "properties": {"lint": w.to_dict()},
        })
    return codes, out


def _location(case: Case, config_path: str | None) -> dict[str, Any] | None:
    img = case.image
    path = img.source_file or config_path
    if not path:
        return None
    line = img.source_line if img.source_file and img.source_line else 1
    return {
        "physicalLocation": {"artifactLocation": _artifact(path), "region": {"startLine": max(line, 1)}},
        "message": {"text": f"image {img.reference}"},
    }


def _message(case: Case, fail_on_warn: bool) -> str:
    img = case.image
    head = f"Image {img.reference}"
    if img.digest:
        head += f" ({img.digest})"
    if case.outcome == "error":
        head += " could not be verified"
    elif case.outcome == "waived":
        head += " failed verification; the failure is waived"
    elif case.outcome == "warn":
        head += " failed a warn-mode policy" + (" (failing the job: --fail-on-warn)" if fail_on_warn else "")
    else:
        head += " failed verification"
    head += f" under policy {case.classname}." if case.policy is not None else " (it matched no policy)."
    return head + "\n" + "\n".join(describe(r) for r in (case.reasons or (case.primary,)))


def render(result: RunResult) -> str:
    """Render ``result`` as a SARIF 2.1.0 log (JSON text)."""
    result = sanitized(result)  # message texts are shown as text: redacted, on one line, no controls
    failing = [c for c in run_cases(result) if c.outcome != "pass"]
    codes: list[str] = []
    for c in failing:
        if c.primary.code not in codes:
            codes.append(c.primary.code)
    results = []
    for c in failing:
        code = c.primary.code
        level = "error" if is_failing(c, result) else "note" if c.outcome == "waived" else "warning"
        res: dict[str, Any] = {
            "ruleId": code,
            "ruleIndex": codes.index(code),
            "level": level,
            "message": {"text": _message(c, result.fail_on_warn)},
            "partialFingerprints": {
                "sigverify/v1": hashlib.sha256(
                    "\0".join((c.image.reference, c.classname, code)).encode()
                ).hexdigest()
            },
            "properties": {
                "image": c.image.reference,
                "resolved": c.image.resolved,
                "digest": c.image.digest,
                "policy": c.policy.policy if c.policy is not None else None,
                "verdict": c.image.verdict.value,
                "reasons": [r.to_dict() for r in c.reasons],
            },
        }
        if c.outcome == "waived":  # shown, and marked as an accepted exception (code scanning: suppressed)
            res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": next(
                (r.message for r in c.reasons if r.code == "WAIVED"), "waived")}]
        loc = _location(c, result.config_path)
        if loc is not None:
            res["locations"] = [loc]
        results.append(res)
    lint_codes, lint_results = _lint_results(result, len(codes))  # warnings about the config: notes, first

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sigverify",
                "version": result.tool_version or "0",
                "rules": [_rule(code) for code in codes] + [_lint_rule(code) for code in lint_codes],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The directory sigverify ran in."}}},
        "invocations": [{"executionSuccessful": True, "exitCode": result.exit_code}],
        "results": lint_results + results,
        "properties": {"summary": result.summary, "digestContract": DIGEST_CONTRACT},
    }
    if result.shard:
        run["automationDetails"] = {"id": f"sigverify/shard-{result.shard.replace('/', '-of-')}/"}
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
