from hypothesis import given
from hypothesis import strategies as st

from services.documents.rendering import samples, split_gross
from services.documents.rendering.tax import TaxCategory, is_reverse_charge, net_from_gross

gross_amounts = st.integers(min_value=1, max_value=10_000_000_00)


@given(gross_amounts)
def test_net_plus_tax_is_always_the_gross(gross_cents):
    tax = split_gross(gross_cents, seller=samples.SELLER, buyer=samples.BUYER_DE)
    assert tax.net_cents + tax.tax_cents == gross_cents


@given(gross_amounts)
def test_tax_is_nineteen_percent_of_net_within_a_cent(gross_cents):
    tax = split_gross(gross_cents, seller=samples.SELLER, buyer=samples.BUYER_DE)
    assert abs(tax.tax_cents * 100 - tax.net_cents * 19) <= 100


@given(gross_amounts)
def test_net_is_the_gross_divided_by_1_19_rounded_half_up(gross_cents):
    exact_times_119 = gross_cents * 100  # net * 119 would equal this without rounding
    net = net_from_gross(gross_cents)
    assert abs(net * 119 - exact_times_119) * 2 <= 119


def test_known_amounts_match_a_pocket_calculator():
    assert net_from_gross(25_000) == 21_008  # 250.00 / 1.19 = 210.084…
    assert net_from_gross(1_000) == 840  # 10.00 / 1.19 = 8.403…
    assert net_from_gross(119) == 100
    assert net_from_gross(1_000_000) == 840_336  # 10,000.00 / 1.19 = 8,403.361…


def test_exact_half_cents_round_up():
    # With 19 % a net never ends in exactly half a cent (119 is odd and coprime to 200), so the
    # rounding rule is shown with a 100 % rate: 0.01 € / 2 = 0.005 € → 0.01 €.
    assert net_from_gross(1, rate_percent=100) == 1
    assert net_from_gross(3, rate_percent=100) == 2


def test_eu_business_with_vat_id_gets_reverse_charge():
    tax = split_gross(25_000, seller=samples.SELLER, buyer=samples.BUYER_EU_B2B)
    assert tax.category is TaxCategory.REVERSE_CHARGE
    assert (tax.net_cents, tax.tax_cents, tax.gross_cents, tax.rate_percent) == (25_000, 0, 25_000, 0)


def test_eu_consumer_without_vat_id_pays_german_vat():
    consumer = samples.Party(name="Jan de Vries", street="Dam 1", postal_code="1012 JS", city="Amsterdam", country="NL")
    assert not is_reverse_charge(seller=samples.SELLER, buyer=consumer)


def test_german_business_with_vat_id_pays_german_vat():
    buyer = samples.Party(
        name="Berliner Firma GmbH",
        street="Unter den Linden 1",
        postal_code="10117",
        city="Berlin",
        country="DE",
        vat_id="DE987654321",
    )
    assert split_gross(11_900, seller=samples.SELLER, buyer=buyer).tax_cents == 1_900
