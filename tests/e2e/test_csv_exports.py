"""CSV for the customer's spreadsheet: transactions between two days and a statement's entries —
UTF-8 with BOM, `;`-separated, euros with a decimal comma (de) or point (en), formulas neutralised."""

import asyncio
import csv
import io
from datetime import date

import pytest

from runtime.calendar import Calendar
from tests.support.stack import publish_usage

from .support import documents_available, fund, new_customer, open_stack, wait_balance

FORMULA = '=HYPERLINK("http://evil.example","click")'


def parse(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "no BOM"
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=";"))


async def test_transactions_csv_between_two_days_in_both_number_formats(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with open_stack(
        nats_url=nats_url, database_url=database_url, new_schema=new_schema, emulator=e2e_stripe, tmp_path=tmp_path
    ) as s:
        tenant_id, auth = await new_customer(s)
        await fund(s, auth, 10_000, expected_balance=10_500)
        await publish_usage(
            s.nc.jetstream(), usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=1_234, description=FORMULA
        )
        await wait_balance(s, auth, 10_500 - 1_234)
        today = Calendar().today().isoformat()
        german = await s.http.get("/v1/transactions.csv", params={"from": today, "to": today}, headers=auth)
        english = await s.http.get(
            "/v1/transactions.csv", params={"from": today, "to": today, "locale": "en"}, headers=auth
        )
        before = await s.http.get("/v1/transactions.csv", params={"to": "2020-01-01"}, headers=auth)
        backwards = await s.http.get("/v1/transactions.csv", params={"from": today, "to": "2020-01-01"}, headers=auth)

    assert german.status_code == 200 and german.headers["content-type"].startswith("text/csv")
    header, *rows = parse(german.content)
    assert header == ["id", "kind", "amount", "balance_after", "description", "reference", "created_at"]
    by_kind = {row[1]: row for row in rows}
    assert set(by_kind) == {"topup", "bonus", "usage"}
    assert (by_kind["usage"][2], by_kind["usage"][3]) == ("-12,34", "92,66")
    assert by_kind["usage"][4] == "'" + FORMULA  # stays text in every spreadsheet
    assert by_kind["topup"][2] == "100,00" and date.fromisoformat(by_kind["topup"][6][:10]).isoformat() == today
    assert {row[1]: row[2] for row in parse(english.content)[1:]}["usage"] == "-12.34"
    assert parse(before.content) == [header]  # nothing on or before 2020-01-01
    assert backwards.status_code == 400 and backwards.json()["error"]["code"] == "validation_error"


@pytest.mark.skipif(not documents_available(), reason="documents service not built")
async def test_a_statement_csv_has_the_pdfs_entries_and_balances(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=True,
    ) as s:
        tenant_id, auth = await new_customer(s)
        await fund(s, auth, 10_000, expected_balance=10_500)
        await publish_usage(s.nc.jetstream(), usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=500)
        await wait_balance(s, auth, 10_000)
        month = Calendar().today().strftime("%Y-%m")
        statement = (await s.http.post("/v1/statements", json={"month": month}, headers=auth)).json()["id"]
        response = None
        for _ in range(300):
            response = await s.http.get(f"/v1/documents/{statement}/csv", headers=auth)
            if response.status_code != 409:
                break
            await asyncio.sleep(0.1)

    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    _header, *rows = parse(response.content)
    assert [row[1] for row in rows] == ["opening_balance", "topup", "bonus", "usage", "closing_balance"]
    assert (rows[0][3], rows[-1][3]) == ("0,00", "100,00")  # German tenant: decimal comma
    assert rows[3][2] == "-5,00"
