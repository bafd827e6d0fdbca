"""Payments' pure rules: amounts, bonus tiers, the top-up state machine. No I/O here."""
