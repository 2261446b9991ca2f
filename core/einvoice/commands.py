"""The ``invoicekit documents`` commands for e-invoices: ``validate`` checks a CII XML file
(or a ZUGFeRD / Factur-X PDF) against the schema, the EN 16931 rules and the XRechnung
rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from core.einvoice.validation import RuleFilesMissing, validate_file

__all__ = ["documents"]


@click.group()
def documents() -> None:
    """E-invoices (XRechnung XML, ZUGFeRD / Factur-X PDF) of the invoices and credit notes."""


@documents.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-xrechnung", is_flag=True,
              help="Check the schema and the EN 16931 rules only, not the XRechnung CIUS.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Leave warnings out of the text report.")
def validate(file: Path, no_xrechnung: bool, as_json: bool, quiet: bool) -> None:
    """Check FILE (CII XML, or a PDF with the XML embedded) against the official rules;
    exits 1 when a rule fails fatally."""
    try:
        report = validate_file(file, xrechnung=not no_xrechnung)
    except RuleFilesMissing as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"file": str(file), "ok": report.ok, "checked": report.checked,
                               "findings": [asdict(f) for f in report.findings]}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(f"{file}: {report.text(warnings=not quiet)}")
    if not report.ok:
        raise SystemExit(1)
