"""What must hold once the faults are over and the system had time to heal, read from each service's
own tables and from Stripe (the emulator) — never from what the services say about themselves."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import nats

from runtime import dlq as runtime_dlq
from services.billing.domain.bonus import bonus_to_reverse
from services.payments.domain.bonus import bonus_for, parse_tiers
from tests.chaos.traffic import Traffic
from tests.chaos.world import AUTOTOPUP_INFLIGHT_TIMEOUT_S, World

TIERS = parse_tiers("10000:5,25000:10,50000:15")


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    healed: int = 0

    @property
    def whole(self) -> bool:
        return not (self.lost or self.doubled or self.stuck or self.wrong)

    def summary(self) -> str:
        parts = {"lost": self.lost, "doubled": self.doubled, "stuck": self.stuck, "wrong": self.wrong}
        return "; ".join(f"{k}: {v[:5]}{'…' if len(v) > 5 else ''}" for k, v in parts.items() if v) or "whole"


def check(world: World, traffic: Traffic, *, stripe_intents: list[dict], stripe_refunds: list[dict]) -> Findings:
    found = Findings()
    with world.psql("billing") as billing, world.psql("documents") as documents, world.psql("payments") as payments:
        _usage(billing, traffic, found)
        credited = _payments(billing, stripe_intents, found)
        _refunds(billing, stripe_intents, stripe_refunds, credited, found)
        _balances(billing, found)
        _auto_topups(billing, found)
        _documents(billing, documents, found)
        found.healed = _healed(payments)
    return found


def _usage(billing, traffic: Traffic, found: Findings) -> None:
    """Every usage id JetStream acknowledged is debited exactly once."""
    rows = billing.execute(
        "SELECT reference, count(*) FROM ledger_transactions WHERE kind = 'usage' GROUP BY reference"
    ).fetchall()
    debited = dict(rows)
    found.lost += [f"usage {u}" for u in traffic.usage_ids if u not in debited]
    found.doubled += [f"usage {u} ×{n}" for u, n in debited.items() if n > 1]


def _payments(billing, intents: list[dict], found: Findings) -> dict[str, tuple[int, int]]:
    """Every succeeded PaymentIntent of ours credited exactly once, with its bonus; answers topup → (A, B)."""
    credits = {
        r[0]: (r[1], r[2])
        for r in billing.execute("SELECT topup_id, amount_cents, bonus_cents FROM topup_credits").fetchall()
    }
    postings = Counter(
        r[0]
        for r in billing.execute(
            "SELECT source_key FROM ledger_transactions WHERE kind IN ('topup', 'bonus') "
            "AND source_key NOT LIKE 'bonus-reversal:%'"
        ).fetchall()
    )
    for intent in intents:
        topup_id = intent["metadata"]["topup_id"]
        if topup_id not in credits:
            found.lost.append(f"payment {intent['id']} (top-up {topup_id}) never credited")
            continue
        amount, bonus = credits[topup_id]
        if amount != intent["amount"] or bonus != bonus_for(amount, TIERS):
            found.wrong.append(f"top-up {topup_id} credited {amount}+{bonus} for {intent['amount']}")
        if postings[f"topup:{topup_id}"] != 1 or postings[f"bonus:{topup_id}"] != (1 if bonus else 0):
            found.doubled.append(f"top-up {topup_id} posted {postings[f'topup:{topup_id}']}×")
    ours = {i["metadata"]["topup_id"] for i in intents}
    found.wrong += [f"credit {t} without a succeeded payment at Stripe" for t in credits if t not in ours]
    return credits


def _refunds(billing, intents: list[dict], refunds: list[dict], credits: dict, found: Findings) -> None:
    """Every succeeded refund recorded once; per top-up the refunds R of A reversed floor(B·R/A) of bonus B."""
    topup_of = {i["id"]: i["metadata"]["topup_id"] for i in intents}
    recorded = {r[0] for r in billing.execute("SELECT message_id FROM inbox WHERE consumer = 'refund'").fetchall()}
    refunded = defaultdict(int)
    for refund in refunds:
        topup_id = topup_of.get(refund.get("payment_intent"))
        if topup_id is None:
            continue
        if refund["id"] not in recorded:
            found.lost.append(f"refund {refund['id']} never recorded")
        refunded[topup_id] += int(refund["amount"])
    posted = defaultdict(int)
    reversed_ = defaultdict(int)
    for key, reference, amount in billing.execute(
        "SELECT source_key, reference, amount_cents FROM ledger_transactions "
        "WHERE kind = 'refund' OR source_key LIKE 'bonus-reversal:%'"
    ).fetchall():
        if key.startswith("refund:"):
            posted[key] += 1
        else:
            reversed_[reference] -= amount  # bonus reversals carry the top-up id
    found.doubled += [f"{k} ×{n}" for k, n in posted.items() if n > 1]
    for topup_id, total in refunded.items():
        amount, bonus = credits.get(topup_id, (0, 0))
        expected = (
            bonus_to_reverse(
                topup_cents=amount,
                bonus_cents=bonus,
                refunded_before=0,
                refund_cents=min(total, amount),
                reversed_before=0,
            )
            if amount
            else 0
        )
        if reversed_[topup_id] != expected:
            found.wrong.append(f"top-up {topup_id}: bonus reversed {reversed_[topup_id]}, floor(B·R/A) = {expected}")


def _balances(billing, found: Findings) -> None:
    """Per account, the balance is the sum of its entries; all entries sum to zero."""
    mismatched = billing.execute(
        "SELECT a.tenant_id, a.balance_cents, coalesce(sum(e.amount_cents), 0) FROM accounts a "
        "LEFT JOIN ledger_entries e ON e.account = 'tenant:' || a.tenant_id "
        "GROUP BY a.tenant_id, a.balance_cents HAVING a.balance_cents <> coalesce(sum(e.amount_cents), 0)"
    ).fetchall()
    found.wrong += [f"account {t}: balance {b} ≠ Σ entries {s}" for t, b, s in mismatched]
    total = billing.execute("SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries").fetchone()[0]
    if total != 0:
        found.wrong.append(f"entries sum to {total}, not 0")


def _auto_topups(billing, found: Findings) -> None:
    """No auto top-up rule in flight past its deadline (plus one monitor period and the check's round trip)."""
    limit = datetime.now(UTC) - timedelta(seconds=AUTOTOPUP_INFLIGHT_TIMEOUT_S * 3)
    rows = billing.execute(
        "SELECT s.tenant_id, c.created_at FROM autotopup_settings s JOIN autotopup_charges c "
        "ON c.trigger_id = s.current_trigger_id WHERE s.state = 'in_flight' AND c.created_at < %s",
        (limit,),
    ).fetchall()
    found.stuck += [f"auto top-up of {t} in flight since {at:%H:%M:%S}" for t, at in rows]


def _documents(billing, documents, found: Findings) -> None:
    """Every credited top-up has its invoice, every recorded refund its credit note; numbers without gaps."""
    issued = defaultdict(set)
    numbers = defaultdict(list)
    for kind, source, number in documents.execute(
        "SELECT kind, source_key, number FROM documents WHERE status = 'issued'"
    ).fetchall():
        issued[kind].add(source)
        series, year, n = number.split("-")
        numbers[(series, year)].append(int(n))
    for (topup_id,) in billing.execute("SELECT topup_id FROM topup_credits WHERE amount_cents > 0").fetchall():
        if topup_id not in issued["invoice"]:
            found.lost.append(f"invoice of top-up {topup_id}")
    for (reference,) in billing.execute("SELECT reference FROM ledger_transactions WHERE kind = 'refund'").fetchall():
        if reference not in issued["credit_note"]:
            found.lost.append(f"credit note of refund {reference}")
    for (series, year), ns in numbers.items():
        if sorted(ns) != list(range(1, len(ns) + 1)):
            found.wrong.append(f"{series}-{year} numbers have gaps or repeats")


def _healed(payments) -> int:
    reports = payments.execute("SELECT report FROM reconciliation_runs").fetchall()
    return sum(1 for (report,) in reports for d in report["discrepancies"] if d["healed"])


async def dead_letters(world: World) -> list[dict]:
    """The DLQ's messages, read as the operator."""
    nc = await nats.connect(world.nats.url)
    try:
        return [
            {"consumer": d.consumer, "data": d.data, "error": d.error}
            for d in await runtime_dlq.dead_letters(nc.jetstream())
        ]
    finally:
        await nc.close()
