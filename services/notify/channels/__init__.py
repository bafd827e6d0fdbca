"""Channel adapters of the notify service: each wraps one peer and returns a `DeliveryResult`.

email.py (SMTP) · sms.py (Twilio) · push.py (Web Push / VAPID) · webhook.py (Standard Webhooks)
with ssrf.py and webhook_policy.py; templates.py + texts.py render the messages in de / en.
"""
