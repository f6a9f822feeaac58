"""The documents run: YAML blocks load, console blocks execute, the command-line synopsis matches --help.

Which blocks are checked, and the marker convention (an HTML comment on the line(s) just before a fence):

* Every fenced ```yaml block of README.md and docs/*.md is a **whole config file** and must load through the
  real loader (``sigverify.policy.load_config``) without a single problem.
* ``<!-- doc-test: fragment -->`` marks a YAML block that is part of a config (``authorities:``, ``registries:``,
  ``files:``, an authority's ``notation:`` or ``key:`` …). It is wrapped in a minimal config (``version: 1``,
  one policy) at the place its top-level key says and loaded the same way.
* ``<!-- doc-test: ci -->`` marks a block another test folder checks (CI files: GitHub workflows, GitLab
  templates, Jenkins). Blocks in docs/ci.md and in README's "CI integration" and "Org scale" sections are
  skipped without a marker (tests/ci owns them). A ``ci`` block elsewhere is only checked to be YAML.
* Every ```console / ```sh block is parsed; each command (``$`` prompts, ``\\`` continuations and ``&&`` chains
  understood) that starts with ``sigverify`` or ``.venv/bin/sigverify`` is **run** in a temporary directory that
  holds a copy of examples/ and every file the same document creates (a YAML block whose first line is
  ``# name.yaml``, or a command's ``> file`` redirection). It must exit 0 unless the block is marked
  ``<!-- doc-test: exit N -->``. In a console block, every output line shown must be a line the commands
  printed (an excerpt is fine; ``...`` lines are skipped).
* ``<!-- doc-test: network -->`` marks a console block that needs a registry or a cloud service, and
  ``<!-- doc-test: shape -->`` one that needs the reader's own files: they are checked for shape only — the
  subcommand exists, every flag exists in that subcommand's ``--help``, and every file given to ``--config`` /
  ``--images`` is created by the document or shipped in the repository.
* No command in a checked block starts with a machine-specific absolute path.
"""
