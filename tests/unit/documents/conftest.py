from __future__ import annotations

import pytest

from services.documents.rendering import (
    RenderedDocument,
    render_credit_note,
    render_invoice,
    render_statement,
    samples,
)

from .checks import SchematronValidator


@pytest.fixture(scope="session")
def schematron() -> SchematronValidator:
    return SchematronValidator()


@pytest.fixture(scope="session")
def domestic_invoice() -> RenderedDocument:
    return render_invoice(samples.invoice())


@pytest.fixture(scope="session")
def reverse_charge_invoice() -> RenderedDocument:
    return render_invoice(samples.invoice(buyer=samples.BUYER_EU_B2B, locale="en"))


@pytest.fixture(scope="session")
def credit_note() -> RenderedDocument:
    return render_credit_note(samples.credit_note())


@pytest.fixture(scope="session")
def statement() -> RenderedDocument:
    return render_statement(samples.statement(entry_count=40))
