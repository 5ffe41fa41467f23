"""docs/cli.md is generated from --help; this fails when a command changed and the docs did not."""

import importlib.util

from tests.conftest import REPO


def test_cli_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", REPO / "scripts" / "gen_cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    on_disk = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert on_disk == module.render(), "docs/cli.md is stale: run `make docs`"
