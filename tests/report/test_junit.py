"""JUnit renderer: valid against the Jenkins JUnit schema, one case per image and policy, failures explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from sigverify.models import Code
from sigverify.report import junit
from tests.ci import samples

XSD = Path(__file__).resolve().parents[1] / "ci" / "schemas" / "jenkins-junit.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def parse(xml: str, schema: etree.XMLSchema) -> etree._Element:
    root = etree.fromstring(xml.encode())
    schema.assertValid(root)
    return root


def cases(root: etree._Element) -> dict[tuple[str, str], etree._Element]:
    return {(tc.get("classname"), tc.get("name")): tc for tc in root.iter("testcase")}


@pytest.mark.parametrize(
    "result",
    [
        samples.run(),
        samples.run(samples.passing()),
        samples.mixed(),
        samples.mixed(fail_on_warn=True),
        samples.run(samples.hostile()),
        samples.run(samples.passing(), shard="2/4"),
    ],
    ids=["empty", "pass", "mixed", "mixed-fail-on-warn", "hostile", "shard"],
)
def test_valid_against_jenkins_schema(result, schema) -> None:
    parse(junit.render(result), schema)


def test_one_case_per_image_and_policy(schema) -> None:
    root = parse(junit.render(samples.mixed()), schema)
    got = cases(root)
    assert set(got) == {
        ("team-release", "localhost:5000/team/app:1.2.3"),
        ("team-release", "localhost:5000/team/worker:2.0"),
        ("sandbox", "localhost:5000/sandbox/tool:dev"),
        ("team-release", "localhost:5000/team/gone:1"),
        ("(no policy)", "docker.io/library/nginx:latest"),
        ("team-release", "localhost:5000/team/db:9"),
        ("two-person", "localhost:5000/team/db:9"),
    }
    assert root.get("tests") == "7"
    # worker, nginx (no policy), db/two-person fail; gone is an error; the warning passes.
    assert (root.get("failures"), root.get("errors")) == ("3", "1")


def test_failure_carries_code_expected_and_found(schema) -> None:
    root = parse(junit.render(samples.mixed()), schema)
    tc = cases(root)[("team-release", "localhost:5000/team/worker:2.0")]
    failure = tc.find("failure")
    assert failure is not None
    assert failure.get("type") == Code.DIGEST_MISMATCH
    assert samples.D_WORKER in failure.get("message") and samples.D_OTHER in failure.get("message")
    assert f"expected: {samples.D_WORKER}" in failure.text
    assert f"found: {samples.D_OTHER}" in failure.text


def test_passing_policy_of_failing_image_passes(schema) -> None:
    got = cases(parse(junit.render(samples.mixed()), schema))
    assert got[("team-release", "localhost:5000/team/db:9")].find("failure") is None
    assert got[("two-person", "localhost:5000/team/db:9")].find("failure").get("type") == Code.THRESHOLD_NOT_MET


def test_error_verdict_is_an_error_element(schema) -> None:
    tc = cases(parse(junit.render(samples.mixed()), schema))[("team-release", "localhost:5000/team/gone:1")]
    assert tc.find("failure") is None
    assert tc.find("error").get("type") == Code.NOT_FOUND


def test_no_policy_image_gets_a_failing_case(schema) -> None:
    tc = cases(parse(junit.render(samples.mixed()), schema))[("(no policy)", "docker.io/library/nginx:latest")]
    assert tc.find("failure").get("type") == Code.NO_POLICY


def test_warn_passes_with_warning_text_unless_fail_on_warn(schema) -> None:
    key = ("sandbox", "localhost:5000/sandbox/tool:dev")
    tc = cases(parse(junit.render(samples.mixed()), schema))[key]
    assert tc.find("failure") is None and tc.find("error") is None
    assert "WARNING" in tc.find("system-out").text and Code.NO_SIGNATURE in tc.find("system-out").text
    strict = cases(parse(junit.render(samples.mixed(fail_on_warn=True)), schema))[key]
    assert "--fail-on-warn" in strict.find("failure").get("message")


def test_digests_are_suite_properties(schema) -> None:
    root = parse(junit.render(samples.mixed()), schema)
    props = {p.get("name"): p.get("value") for p in root.find("properties")}
    assert props["digest:localhost:5000/team/app:1.2.3"] == samples.D_APP
    assert props["digest:localhost:5000/team/gone:1"] == ""
    assert props["sigverify.version"] == "0.1.0"
    tc = cases(root)[("team-release", "localhost:5000/team/app:1.2.3")]
    assert f"digest: {samples.D_APP}" in tc.find("system-out").text
    assert "verified by: release-key" in tc.find("system-out").text


def test_hostile_text_round_trips_escaped(schema) -> None:
    root = parse(junit.render(samples.run(samples.hostile())), schema)
    failure = next(root.iter("failure"))
    # Control characters in values are shown as escapes (\x01, \n), so the value stays on its line;
    # everything else survives XML escaping exactly.
    assert "<script>alert(1)</script>" in failure.get("message")
    assert "\x01" not in failure.text and "`tick`\\x01\\n::error::injected" in failure.text
    assert not any(line.lstrip().startswith("::") for line in failure.text.splitlines())


def test_render_is_pure() -> None:
    result = samples.mixed()
    assert junit.render(result) == junit.render(result)


def test_schema_is_strict_enough_to_catch_mistakes(schema) -> None:
    """The schema refuses what Jenkins' parser ignores or rejects: guards the tests above from passing vacuously."""
    bad = '<testsuite name="s" tests="1"><testcase name="i"><system-out/><failure message="m"/></testcase></testsuite>'
    assert not schema.validate(etree.fromstring(bad))  # failure after system-out: wrong order
    assert not schema.validate(etree.fromstring('<testsuite name="s"><testcase name="i"/></testsuite>'))


def test_policy_warnings_are_shown(schema) -> None:
    from dataclasses import replace

    from sigverify.models import Reason

    img = samples.passing()
    warned = replace(img.policies[0], warnings=(Reason(Code.VERIFICATION_WARNING, "tlog check only logged"),))
    root = parse(junit.render(samples.run(replace(img, policies=(warned,)))), schema)
    out = next(root.iter("testcase")).find("system-out").text
    assert "VERIFICATION_WARNING: tlog check only logged" in out
