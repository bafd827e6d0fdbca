"""Everything that speaks to Stripe: the SDK adapter (client.py), its errors, the charge answers in our
terms (models.py, intent_outcome.py) and webhook signatures (signatures.py). No other module imports
the `stripe` SDK."""
