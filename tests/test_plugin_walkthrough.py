"""docs/plugin_walkthrough.md, executed: generate the Kontor plugin, replace its files with
the page's, install it, see it listed, and run its tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_venv import install_plugin, run

from core.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin_walkthrough.md"

pytestmark = pytest.mark.slow


def files() -> dict[str, str]:
    """The page's files: each code block after a ``<!-- file: PATH -->`` line."""
    text = DOC.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", text, re.DOTALL))


def test_the_page_has_the_plugin_and_its_tests():
    assert sorted(files()) == ["kontor/invoicekit_kontor/plugin.py",
                               "kontor/tests/test_contract.py"]


def test_the_walkthrough_works_as_written(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    assert "invoicekit new-plugin shop kontor" in text
    result = CliRunner().invoke(main, ["new-plugin", "shop", "kontor", "--into", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for path, content in files().items():
        target = tmp_path / path
        assert target.exists(), f"the template has no {path} to replace"
        target.write_text(content, encoding="utf-8")
    python, env = install_plugin(tmp_path, "kontor")
    listed = run(python, "-m", "webhooks.cli", "plugins", env=env)
    assert "kontor 0.1.0 (invoicekit_kontor.plugin): declare_platform, parse_delivery, " \
        "verify_delivery" in listed
    assert "  platform kontor: activation, full_credit, placement" in listed
    out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path / "kontor",
              env=env)
    assert re.search(r"\b9 passed\b", out), out
