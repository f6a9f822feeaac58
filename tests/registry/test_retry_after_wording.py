"""A 429 whose Retry-After is beyond the limit fails at once, and the message does not claim a retry."""

from __future__ import annotations

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code
from tests.registry.test_hostile import FAST, REPO, MakeServer, Reply, ref_for, regs_for


def test_long_retry_after_says_what_was_done(fake_server: MakeServer) -> None:
    server = fake_server()
    path = f"/v2/{REPO}/manifests/v1"
    server.route(path, Reply(429, {"Retry-After": "3600"}, b""))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "v1")
    assert len(server.requests_to(path)) == 1  # nothing was retried ...
    assert exc.value.code == Code.RATE_LIMITED
    assert "retrying" not in exc.value.message  # ... and the message does not say otherwise
    assert (f"rate limited (HTTP 429; Retry-After: 3600), gave up: sigverify makes at most {FAST.attempts} attempts "
            f"and waits at most {FAST.max_retry_after:g} s when asked") in exc.value.message
