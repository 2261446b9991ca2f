"""What can be checked of a ZUGFeRD / Factur-X PDF/A-3 without veraPDF, with pypdf.

:func:`check_pdfa` looks at the parts of ISO 19005-3 (PDF/A-3b) and of the Factur-X /
ZUGFeRD 2.x specification that a wrong PDF most often gets wrong:

- the file: a ``%PDF-1.0`` … ``%PDF-1.7`` header, no encryption, a file identifier (``/ID``);
- the XMP metadata: well-formed, no ``bytes``/``encoding`` in the packet header,
  ``pdfaid:part`` 3 and ``pdfaid:conformance`` B, the Factur-X extension schema declared
  (namespace, prefix ``fx`` and its four properties) and filled in (``fx:DocumentType``
  INVOICE, ``fx:DocumentFileName`` factur-x.xml, ``fx:Version``, ``fx:ConformanceLevel``
  EN 16931);
- an output intent ``/GTS_PDFA1`` with a usable ICC profile (monitor or printer class, RGB,
  CMYK or gray, version below 5, ``/N`` matching its colour space);
- the embedded ``factur-x.xml``: a file specification with ``/F``, ``/UF`` and an allowed
  ``/AFRelationship``, listed in the catalog's ``/AF``, its stream an ``/EmbeddedFile`` with
  a MIME ``/Subtype``; every other embedded file has an ``/AFRelationship`` too;
- every font used on a page (form XObjects included) embedded (``FontFile``, ``FontFile2``
  or ``FontFile3``); no interpolated image, no soft mask or constant alpha below 1 (the
  kit's PDFs use no transparency); no JavaScript and no forbidden action;
- with ``rules=True``: the embedded XML against the official rules
  (:func:`core.einvoice.validation.validate`), zero errors.

It is no replacement for veraPDF (which checks glyph widths, content stream operators,
the XMP schema values in depth and much more); it guards what this kit writes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

if TYPE_CHECKING:
    from core.einvoice.validation import Report

__all__ = ["FACTURX_NAMESPACE", "PdfaReport", "check_pdfa"]

FACTURX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
XML_NAME = "factur-x.xml"
_NS = {"x": "adobe:ns:meta/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
       "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
       "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
       "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
       "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#", "fx": FACTURX_NAMESPACE}
_FX_PROPERTIES = {"DocumentFileName", "DocumentType", "Version", "ConformanceLevel"}
_AF_RELATIONSHIPS = {"/Data", "/Alternative", "/Source"}  # for the Factur-X XML
_FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide",
                      "/JavaScript", "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView"}
_ICC_COMPONENTS = {b"RGB ": 3, b"CMYK": 4, b"GRAY": 1}


@dataclass
class PdfaReport:
    """What :func:`check_pdfa` found: ``problems`` (empty when every check passed), the
    embedded XML, and the official rules' report on it (when they ran)."""

    problems: list[str] = field(default_factory=list)
    xml: bytes | None = None
    validation: Report | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return "PDF/A-3b checks passed"
        return "\n".join(["PDF/A-3b checks failed:", *(f"  - {p}" for p in self.problems)])


def check_pdfa(pdf: bytes, *, rules: bool = True, xrechnung: bool = True) -> PdfaReport:
    """Check a ZUGFeRD / Factur-X PDF (see the module's docstring). With ``rules``, the
    embedded XML is validated too (``xrechnung=False`` leaves the XRechnung CIUS out)."""
    report = PdfaReport()
    problems = report.problems
    if not re.match(rb"%PDF-1\.[0-7]\r?\n", pdf[:10]):
        problems.append(f"header {pdf[:9]!r} is not %PDF-1.0 ... %PDF-1.7")
    reader = PdfReader(io.BytesIO(pdf))
    if reader.is_encrypted:
        problems.append("the file is encrypted")
        return report
    ids = reader.trailer.get("/ID")
    if not isinstance(ids, ArrayObject) or len(ids) != 2:
        problems.append("the trailer has no file identifier /ID")
    root = reader.trailer["/Root"].get_object()
    _check_xmp(root, problems)
    space = _check_output_intents(root, problems)
    report.xml = _check_attachments(root, problems)
    _check_pages(reader, space, problems)
    _check_actions(root, problems)
    if rules and report.xml is not None:
        from core.einvoice.validation import validate

        report.validation = validate(report.xml, xrechnung=xrechnung)
        problems.extend(f"embedded XML: {finding}" for finding in report.validation.errors)
    return report


# -- the parts ------------------------------------------------------------------------------


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _ref(obj: Any) -> tuple[int, int] | int:
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    reference = getattr(obj, "indirect_reference", None)
    if reference is not None:
        return (reference.idnum, reference.generation)
    return id(obj)


def _xmp_value(root: etree._Element, prefix: str, name: str) -> str | None:
    """A simple XMP property, written as an element or as an attribute of rdf:Description."""
    element = root.find(f".//{{{_NS[prefix]}}}{name}")
    if element is not None:
        return (element.text or "").strip()
    for description in root.iterfind(".//rdf:Description", _NS):
        value = description.get(f"{{{_NS[prefix]}}}{name}")
        if value is not None:
            return value.strip()
    return None


def _check_xmp(root: DictionaryObject, problems: list[str]) -> None:
    metadata = _resolve(root.get("/Metadata"))
    if not isinstance(metadata, StreamObject):
        problems.append("the catalog has no XMP /Metadata stream")
        return
    data = metadata.get_data()
    header = re.search(rb"<\?xpacket begin=[^>]*\?>", data)
    if header is None:
        problems.append("the XMP metadata has no xpacket header")
    elif re.search(rb"\b(bytes|encoding)=", header.group(0)):
        problems.append("the XMP packet header uses the bytes or encoding attribute")
    try:
        xmp = etree.fromstring(data, etree.XMLParser(resolve_entities=False,
                                                     no_network=True))
    except etree.XMLSyntaxError as exc:
        problems.append(f"the XMP metadata is not well-formed XML: {exc}")
        return
    expected = {("pdfaid", "part"): "3", ("pdfaid", "conformance"): "B",
                ("fx", "DocumentType"): "INVOICE", ("fx", "DocumentFileName"): XML_NAME,
                ("fx", "Version"): "1.0", ("fx", "ConformanceLevel"): "EN 16931"}
    for (prefix, name), value in expected.items():
        got = _xmp_value(xmp, prefix, name)
        if got != value:
            problems.append(f"XMP {prefix}:{name} is {got!r}, not {value!r}")
    schemas = [li for li in xmp.iterfind(".//pdfaExtension:schemas//rdf:li", _NS)
               if li.findtext("pdfaSchema:namespaceURI", namespaces=_NS) == FACTURX_NAMESPACE]
    if not schemas:
        problems.append("the XMP metadata does not declare the Factur-X extension schema")
        return
    schema = schemas[0]
    if schema.findtext("pdfaSchema:prefix", namespaces=_NS) != "fx":
        problems.append("the Factur-X extension schema's prefix is not fx")
    declared = {li.findtext("pdfaProperty:name", namespaces=_NS)
                for li in schema.iterfind("pdfaSchema:property//rdf:li", _NS)}
    if missing := _FX_PROPERTIES - declared:
        problems.append(f"the Factur-X extension schema lacks {', '.join(sorted(missing))}")


def _check_output_intents(root: DictionaryObject, problems: list[str]) -> bytes | None:
    """Check the PDF/A output intent; returns its ICC colour space (``b"RGB "``)."""
    intents = [_resolve(i) for i in _resolve(root.get("/OutputIntents")) or []]
    pdfa = [i for i in intents if i.get("/S") == "/GTS_PDFA1"]
    if not pdfa:
        problems.append("no output intent /GTS_PDFA1")
        return None
    profiles = {_ref(i["/DestOutputProfile"]) for i in intents if "/DestOutputProfile" in i}
    if len(profiles) > 1:
        problems.append("the output intents name different ICC profiles")
    if "/DestOutputProfile" not in pdfa[0]:
        problems.append("the PDF/A output intent has no ICC profile (/DestOutputProfile)")
        return None
    stream = _resolve(pdfa[0]["/DestOutputProfile"])
    icc = stream.get_data()
    if len(icc) < 128 or icc[36:40] != b"acsp":
        problems.append("the output intent's ICC profile is not an ICC profile")
        return None
    if icc[12:16] not in (b"mntr", b"prtr"):
        problems.append(f"the output intent's ICC profile class is {icc[12:16]!r}, not "
                        "a monitor or printer profile")
    components = _ICC_COMPONENTS.get(icc[16:20])
    if components is None:
        problems.append(f"the output intent's ICC colour space is {icc[16:20]!r}")
    elif stream.get("/N") != components:
        problems.append(f"the ICC profile stream's /N is {stream.get('/N')}, its profile has "
                        f"{components} components")
    if icc[8] >= 5:
        problems.append(f"the ICC profile's version {icc[8]}.{icc[9] >> 4} is 5 or later")
    return icc[16:20]


def _names(tree: DictionaryObject | None) -> list[tuple[str, Any]]:
    """The (name, value) pairs of a name tree."""
    if tree is None:
        return []
    pairs = []
    names = _resolve(tree.get("/Names")) or []
    for i in range(0, len(names) - 1, 2):
        pairs.append((str(_resolve(names[i])), names[i + 1]))
    for kid in _resolve(tree.get("/Kids")) or []:
        pairs.extend(_names(_resolve(kid)))
    return pairs


def _check_attachments(root: DictionaryObject, problems: list[str]) -> bytes | None:
    names = _resolve(root.get("/Names")) or {}
    files = _names(_resolve(names.get("/EmbeddedFiles")))
    associated = {_ref(spec) for spec in _resolve(root.get("/AF")) or []}
    xml = None
    for name, spec_ref in files:
        spec = _resolve(spec_ref)
        relationship = spec.get("/AFRelationship")
        if relationship is None:
            problems.append(f"embedded file {name} has no /AFRelationship")
        stream = _resolve((_resolve(spec.get("/EF")) or {}).get("/F"))
        if not isinstance(stream, StreamObject):
            problems.append(f"embedded file {name} has no file stream (/EF /F)")
            continue
        if stream.get("/Type") not in (None, "/EmbeddedFile") or not stream.get("/Subtype"):
            problems.append(f"embedded file {name} has no MIME type (/Subtype)")
        if name != XML_NAME:
            continue
        if relationship not in _AF_RELATIONSHIPS:
            problems.append(f"{XML_NAME} has /AFRelationship {relationship}, not one of "
                            f"{', '.join(sorted(_AF_RELATIONSHIPS))}")
        if spec.get("/F") != XML_NAME or spec.get("/UF") != XML_NAME:
            problems.append(f"{XML_NAME}'s file specification lacks /F or /UF {XML_NAME}")
        if _ref(spec_ref) not in associated:
            problems.append(f"{XML_NAME} is not in the catalog's associated files /AF")
        xml = stream.get_data()
    if xml is None:
        problems.append(f"no embedded {XML_NAME}")
    return xml


def _check_resources(resources: Any, where: str, problems: list[str], seen: set) -> None:
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject) or _ref(resources) in seen:
        return
    seen.add(_ref(resources))
    for name, ref in (_resolve(resources.get("/Font")) or {}).items():
        font = _resolve(ref)
        if font.get("/Subtype") == "/Type3":
            continue
        described = font
        if font.get("/Subtype") == "/Type0":
            described = _resolve(_resolve(font["/DescendantFonts"])[0])
        descriptor = _resolve(described.get("/FontDescriptor")) or {}
        if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            problems.append(f"font {font.get('/BaseFont')} ({name}) on {where} is not "
                            "embedded")
    for ref in (_resolve(resources.get("/ExtGState")) or {}).values():
        state = _resolve(ref)
        if state.get("/SMask", "/None") != "/None" or any(
                float(state.get(k, 1)) < 1 for k in ("/CA", "/ca")):
            problems.append(f"a graphics state on {where} uses transparency")
    for name, ref in (_resolve(resources.get("/XObject")) or {}).items():
        xobject = _resolve(ref)
        if xobject.get("/Subtype") == "/Image":
            if xobject.get("/Interpolate"):
                problems.append(f"image {name} on {where} has /Interpolate true")
            if "/SMask" in xobject or "/Alternates" in xobject:
                problems.append(f"image {name} on {where} has a soft mask or alternates")
        elif xobject.get("/Subtype") == "/Form":
            _check_resources(xobject.get("/Resources"), where, problems, seen)


def _check_pages(reader: PdfReader, space: bytes | None, problems: list[str]) -> None:
    """Fonts, images and graphics states of every page; a page group's blending colour
    space, when a device space, must be the output intent's (DeviceRGB for sRGB)."""
    seen: set = set()
    device = {b"RGB ": "/DeviceRGB", b"CMYK": "/DeviceCMYK", b"GRAY": "/DeviceGray"}
    for n, page in enumerate(reader.pages, start=1):
        _check_resources(page.get("/Resources"), f"page {n}", problems, seen)
        group = _resolve(page.get("/Group"))
        blend = _resolve(group.get("/CS")) if group is not None else None
        if isinstance(blend, str) and blend.startswith("/Device") and \
                blend != device.get(space or b""):
            problems.append(f"page {n}'s group blends in {blend}, the output intent is "
                            f"{space!r}")


def _check_actions(root: DictionaryObject, problems: list[str]) -> None:
    action = _resolve(root.get("/OpenAction"))
    if isinstance(action, DictionaryObject) and action.get("/S") in _FORBIDDEN_ACTIONS:
        problems.append(f"the open action is {action.get('/S')}")
    names = _resolve(root.get("/Names")) or {}
    if "/JavaScript" in names or "/AA" in root:
        problems.append("the document has JavaScript or additional actions")
