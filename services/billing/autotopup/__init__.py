"""Billing's side of auto top-up: settings, the trigger in the debit's transaction, outcomes, monitor.

The rules themselves are pure and live in `services.billing.domain.autotopup`.
"""
