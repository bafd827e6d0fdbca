"""Hybrid e-invoice: the CII XML embedded as factur-x.xml into the PDF/A-3b (Factur-X EN 16931)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import facturx
from lxml import etree

from .models import Party

FLAVOR = "factur-x"
LEVEL = "en16931"
XML_FILENAME = "factur-x.xml"


class InvalidEInvoice(ValueError):
    """The generated XML does not match the Factur-X EN 16931 schema."""


XSD_PATH = files("facturx") / "xsd_and_schematron" / "facturx-en16931" / "Factur-X_EN16931.xsd"


@cache
def _xsd() -> etree.XMLSchema:
    # facturx.xml_check_xsd compiles the schema again on every call; this one is compiled once.
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def check_xsd(xml: bytes) -> None:
    schema = _xsd()
    if not schema.validate(etree.fromstring(xml)):
        raise InvalidEInvoice(str(schema.error_log))


def embed_xml(pdf: bytes, xml: bytes, *, title: str, seller: Party, lang: str) -> bytes:
    """Attach the XML (AFRelationship /Alternative) and write the Factur-X XMP metadata."""
    check_xsd(xml)
    metadata = {
        "author": seller.name,
        "keywords": "Factur-X, ZUGFeRD, EN 16931",
        "title": title,
        "subject": title,
    }
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor=FLAVOR,
        level=LEVEL,
        check_xsd=False,
        pdf_metadata=metadata,
        lang=lang,
        afrelationship="alternative",
    )
