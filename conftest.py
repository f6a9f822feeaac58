"""Root pytest configuration: shared fixtures live in tests/fixtures/ (one module per real part)."""

pytest_plugins = [
    "tests.fixtures.vectors",
    "tests.fixtures.registry",
    "tests.fixtures.cosign_sign",
    "tests.fixtures.peers",
]
