"""Tests of sigverify import: policy-controller, Kyverno and notation policies turned into sigverify configs."""
