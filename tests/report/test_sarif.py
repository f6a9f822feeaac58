"""SARIF renderer: valid SARIF 2.1.0, one result per failed image and policy, rules with help."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from sigverify.models import Code
from sigverify.report import sarif
from tests.ci import samples

SCHEMA = Path(__file__).resolve().parents[1] / "ci" / "schemas" / "sarif-2.1.0-rtm.5.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def load(result, validator) -> dict:
    log = json.loads(sarif.render(result))
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return log


@pytest.mark.parametrize(
    "result",
    [
        samples.run(),
        samples.run(samples.passing()),
        samples.mixed(),
        samples.mixed(True),
        samples.run(samples.hostile()),
    ],
    ids=["empty", "pass", "mixed", "fail-on-warn", "hostile"],
)
def test_valid_sarif(result, validator) -> None:
    log = load(result, validator)
    assert log["version"] == "2.1.0"


def test_one_result_per_failed_image_and_policy(validator) -> None:
    run = load(samples.mixed(), validator)["runs"][0]
    got = {(r["properties"]["image"], r["properties"]["policy"], r["ruleId"], r["level"]) for r in run["results"]}
    assert got == {
        ("localhost:5000/team/worker:2.0", "team-release", Code.DIGEST_MISMATCH, "error"),
        ("localhost:5000/sandbox/tool:dev", "sandbox", Code.NO_SIGNATURE, "warning"),
        ("localhost:5000/team/gone:1", "team-release", Code.NOT_FOUND, "error"),
        ("docker.io/library/nginx:latest", None, Code.NO_POLICY, "error"),
        ("localhost:5000/team/db:9", "two-person", Code.THRESHOLD_NOT_MET, "error"),
    }


def test_rules_in_driver_with_help_and_matching_index(validator) -> None:
    run = load(samples.mixed(), validator)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for res in run["results"]:
        rule = rules[res["ruleIndex"]]
        assert rule["id"] == res["ruleId"]
        assert rule["help"]["text"] and rule["shortDescription"]["text"]


def test_location_is_the_config_line(validator) -> None:
    run = load(samples.mixed(), validator)["runs"][0]
    by_image = {r["properties"]["image"]: r for r in run["results"]}
    loc = by_image["localhost:5000/team/worker:2.0"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "sigverify.yaml", "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 4
    # An image from the command line points at the config file's first line (code scanning needs a location).
    nginx = by_image["docker.io/library/nginx:latest"]["locations"][0]["physicalLocation"]
    assert nginx["region"]["startLine"] == 1


def test_message_has_expected_and_found(validator) -> None:
    run = load(samples.mixed(), validator)["runs"][0]
    msg = next(r for r in run["results"] if r["ruleId"] == Code.DIGEST_MISMATCH)["message"]["text"]
    assert f"expected: {samples.D_WORKER}" in msg and f"found: {samples.D_OTHER}" in msg


def test_fail_on_warn_makes_warning_an_error(validator) -> None:
    run = load(samples.mixed(fail_on_warn=True), validator)["runs"][0]
    assert {r["level"] for r in run["results"]} == {"error"}


def test_fingerprints_stable_and_distinct(validator) -> None:
    a = load(samples.mixed(), validator)["runs"][0]["results"]
    b = load(samples.mixed(), validator)["runs"][0]["results"]
    fps = [r["partialFingerprints"]["sigverify/v1"] for r in a]
    assert fps == [r["partialFingerprints"]["sigverify/v1"] for r in b]
    assert len(set(fps)) == len(fps)


def test_passing_run_has_no_results(validator) -> None:
    run = load(samples.run(samples.passing()), validator)["runs"][0]
    assert run["results"] == [] and run["invocations"][0]["exitCode"] == 0
