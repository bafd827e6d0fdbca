"""Subjects that were published contracts and are retired: a removal is a version decision, written here.

A retired subject is never reused for another shape (a successor gets a new name or a new `vN`);
tests/contract checks that a subject leaves the schema snapshot only by being listed here.
"""

RETIRED: dict[str, str] = {
    "gateway.password_reset.requested.v1": (
        "2026-11: carried the reset link itself (a credential on the bus). Successor: "
        "gateway.password_reset.issued.v1 {reset_id} and rpc.gateway.password_reset.link.v1."
    ),
    "billing.transaction.recorded.v1": (
        "2026-12: declared, never published nor consumed. The fact it named is published as the "
        "customer-visible portal.transaction.created.v1 (TransactionCreatedData); no internal successor."
    ),
    "billing.month.closed.v1": (
        "2026-12: consumed by documents, never published. Documents issues every tenant's statement of "
        "the previous month itself (its monthly job, once per tenant and month across replicas), which "
        "was already the path that worked; no successor. The durable documents-month-closed is deleted "
        "on upgrade (docs/operations.md)."
    ),
}
