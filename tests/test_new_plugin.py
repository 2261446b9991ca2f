"""``invoicekit new-plugin shop acme`` makes a package that installs next to the kit, is
listed by ``invoicekit plugins``, and whose generated tests — the kit's contract suite
through its pytest plugin — pass unchanged, and fail clearly when its signature check is
broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_venv import install_plugin, run

from core.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The generated plugin installed with ``pip install -e`` in a new virtualenv that sees
    the kit (and its dependencies) through a ``.pth`` file."""
    where = tmp_path_factory.mktemp("plugins")
    result = CliRunner().invoke(main, ["new-plugin", "shop", "acme", "--into", str(where)])
    assert result.exit_code == 0, result.output
    python, env = install_plugin(where, "acme")
    return where / "acme", python, env


def test_the_package_has_its_parts(installed):
    plugin, _, _ = installed
    files = sorted(str(p.relative_to(plugin)) for p in plugin.rglob("*") if p.is_file()
                   and "egg-info" not in str(p))
    assert files == ["README.md", "invoicekit_acme/__init__.py", "invoicekit_acme/plugin.py",
                     "pyproject.toml", "setup.cfg", "tests/test_contract.py"]
    assert "acme = invoicekit_acme.plugin" in (plugin / "setup.cfg").read_text()


def test_the_kit_finds_it(installed):
    _, python, env = installed
    listed = run(python, "-m", "webhooks.cli", "plugins", env=env)
    assert "acme 0.1.0 (invoicekit_acme.plugin): declare_platform, parse_delivery, " \
        "verify_delivery" in listed
    assert "  platform acme: activation, discount_transfer, full_credit" in listed


def test_its_generated_tests_pass_unchanged(installed):
    plugin, python, env = installed
    out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin, env=env)
    assert "8 passed" in out


def test_a_broken_signature_check_fails_the_contract_clearly(installed, tmp_path):
    plugin, python, env = installed
    source = plugin / "invoicekit_acme" / "plugin.py"
    original = source.read_text()
    broken = original.replace(
        "if not any(hmac.compare_digest(sign(body, secret), given) for secret in secrets):",
        "if not given:")
    assert broken != original
    source.write_text(broken)
    try:
        out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin, env=env,
                  ok=False)
    finally:
        source.write_text(original)
    assert "verify_delivery accepted a body changed after it was signed" in out
    assert "FAILED tests/test_contract.py::TestContract::test_an_altered_body_is_refused" in out


def test_names_and_kinds_are_checked(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["new-plugin", "shop", "Acme-Shop", "--into", str(tmp_path)])
    assert bad.exit_code != 0 and "lower-case letters and digits" in bad.output
    assert runner.invoke(main, ["new-plugin", "shop", "acme", "--into", str(tmp_path)]) \
        .exit_code == 0
    again = runner.invoke(main, ["new-plugin", "shop", "acme", "--into", str(tmp_path)])
    assert again.exit_code != 0 and "exists already" in again.output


def test_a_provider_plugin_passes_the_provider_contract(tmp_path):
    result = CliRunner().invoke(main, ["new-plugin", "provider", "zahl", "--into",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    python, env = install_plugin(tmp_path, "zahl")
    listed = run(python, "-m", "webhooks.cli", "plugins", env=env)
    assert "zahl 0.1.0 (invoicekit_zahl.plugin): activate_order, credit_full, " \
        "declare_provider, place_order" in listed
    assert "  provider zahl: activation, full_credit, placement" in listed
    out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path / "zahl",
              env=env)
    assert "5 passed" in out
