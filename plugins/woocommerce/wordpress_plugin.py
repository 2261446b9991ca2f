"""The WordPress plugin "invoicekit for WooCommerce" (PHP, in ``wordpress/``) as the zip a
shop owner installs: ``invoicekit woocommerce-plugin build``.

The zip holds the plugin folder as it is, minus the translation sources: each locale's PO
files (``languages/<locale>/*.po``, one per part of the plugin) are merged into one catalog
and compiled to ``languages/invoicekit-for-woocommerce-<locale>.mo`` (with the merged
``.po`` beside it for translators). Entries carry a fixed date, so the same sources always
give the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

__all__ = ["PLUGIN_DIR", "SLUG", "build", "catalogs", "version", "woocommerce_plugin"]

SLUG = "invoicekit-for-woocommerce"
PLUGIN_DIR = Path(__file__).parent / "wordpress" / SLUG
_FIXED_DATE = (2026, 1, 1, 0, 0, 0)


def version(plugin_dir: Path = PLUGIN_DIR) -> str:
    """The ``Version:`` of the plugin's header."""
    header = (plugin_dir / f"{SLUG}.php").read_text(encoding="utf-8")
    found = re.search(r"^\s*\*\s*Version:\s*(\S+)", header, re.MULTILINE)
    if found is None:
        raise click.ClickException(f"{SLUG}.php has no Version: header")
    return found.group(1)


def catalogs(plugin_dir: Path = PLUGIN_DIR) -> dict[str, Catalog]:
    """Each locale's merged catalog; the same source text translated twice differently is
    refused, naming both files."""
    merged: dict[str, Catalog] = {}
    origin: dict[tuple[str, str], Path] = {}
    for folder in sorted(p for p in (plugin_dir / "languages").iterdir() if p.is_dir()):
        catalog = merged.setdefault(folder.name, Catalog(locale=folder.name, domain=SLUG))
        for po in sorted(folder.glob("*.po")):
            with po.open("rb") as source:
                part = read_po(source, locale=folder.name)
            for message in part:
                if not message.id or not message.string:
                    continue
                key = (folder.name, str(message.id))
                earlier = catalog.get(message.id)
                if earlier is not None and earlier.string != message.string:
                    raise click.ClickException(
                        f"{message.id!r} is translated differently in {origin[key].name} "
                        f"and {po.name}")
                origin[key] = po
                catalog.add(message.id, message.string)
    return merged


def build(output: Path, plugin_dir: Path = PLUGIN_DIR) -> Path:
    """Write the installable zip into ``output`` and return its path."""
    output.mkdir(parents=True, exist_ok=True)
    target = output / f"{SLUG}-{version(plugin_dir)}.zip"
    files: dict[str, bytes] = {}
    for path in sorted(plugin_dir.rglob("*")):
        relative = path.relative_to(plugin_dir)
        if path.is_dir() or (relative.parts[0] == "languages" and len(relative.parts) > 2):
            continue  # translation sources are compiled below
        files[f"{SLUG}/{relative.as_posix()}"] = path.read_bytes()
    for locale, catalog in catalogs(plugin_dir).items():
        for suffix, writer in ((".mo", write_mo), (".po", write_po)):
            buffer = io.BytesIO()
            writer(buffer, catalog)
            files[f"{SLUG}/languages/{SLUG}-{locale}{suffix}"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return target


@click.group("woocommerce-plugin")
def woocommerce_plugin() -> None:
    """The WordPress plugin "invoicekit for WooCommerce"."""


@woocommerce_plugin.command("build")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("dist"), show_default=True, help="Folder to write the zip into.")
def build_command(output: Path) -> None:
    """Build the plugin's installable zip (upload it in WordPress: Plugins → Add New →
    Upload Plugin)."""
    target = build(output)
    click.echo(f"{target} ({target.stat().st_size} bytes): upload it in WordPress under "
               "Plugins → Add New → Upload Plugin")
