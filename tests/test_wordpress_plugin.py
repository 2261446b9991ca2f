"""The WordPress plugin "invoicekit for WooCommerce": every PHP file passes ``php -l``, its
PHPUnit suite passes (against the fake WordPress in plugins/woocommerce/wordpress/tests),
and ``invoicekit woocommerce-plugin build`` makes an installable, reproducible zip with the
German translation compiled.

The PHP parts are skipped where php or phpunit is missing, unless INVOICEKIT_REQUIRE_PHP is
set (CI installs both from Debian and sets it).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile

import pytest
from babel.messages.mofile import read_mo
from click.testing import CliRunner

from plugins.woocommerce.wordpress_plugin import PLUGIN_DIR, SLUG, build, version
from webhooks.cli import main

WORDPRESS = PLUGIN_DIR.parent
PHP_FILES = sorted(p for p in WORDPRESS.rglob("*.php"))
needs_php = pytest.mark.skipif(
    not (shutil.which("php") and shutil.which("phpunit"))
    and not os.environ.get("INVOICEKIT_REQUIRE_PHP"),
    reason="php and phpunit are not installed (Debian: php-cli php-xml php-mbstring phpunit)")


@needs_php
def test_every_php_file_parses():
    assert len(PHP_FILES) > 10
    for path in PHP_FILES:
        result = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: {result.stdout}{result.stderr}"


@needs_php
def test_phpunit_suite_passes():
    result = subprocess.run(["phpunit", "--colors=never"], cwd=WORDPRESS / "tests",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "OK (" in result.stdout and "Tests: 0" not in result.stdout, result.stdout[-2000:]


def test_build_makes_an_installable_reproducible_zip(tmp_path):
    first = build(tmp_path / "a")
    second = build(tmp_path / "b")
    assert first.name == f"{SLUG}-{version()}.zip"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        assert f"{SLUG}/{SLUG}.php" in names
        assert all(name.startswith(f"{SLUG}/") for name in names)
        assert not any(name.startswith(f"{SLUG}/languages/de_DE/") for name in names)
        mo = archive.read(f"{SLUG}/languages/{SLUG}-de_DE.mo")
    sources = {p.relative_to(PLUGIN_DIR).as_posix() for p in PLUGIN_DIR.rglob("*")
               if p.is_file() and not p.relative_to(PLUGIN_DIR).as_posix()
               .startswith("languages/")}
    assert {f"{SLUG}/{s}" for s in sources} <= names
    catalog = read_mo(io.BytesIO(mo))
    assert catalog.get("Purchase on account (B2B)").string
    assert len([m for m in catalog if m.id]) > 20


def test_build_command(tmp_path):
    result = CliRunner().invoke(main, ["woocommerce-plugin", "build", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"{SLUG}-{version()}.zip" in result.output
    assert (tmp_path / f"{SLUG}-{version()}.zip").exists()
