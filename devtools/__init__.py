"""Local stand-ins for the systems the product talks to, and helpers that start real servers.

Used by `make run` (scripts/run_local.py), the tests and the benchmarks; never by a service:
- `stripe_emulator`: localstripe (PyPI) extended with what our flows need, for the real `stripe` SDK.
- `smtp_sink`: an aiosmtpd server keeping mails (optionally STARTTLS), `twilio_stub`: Twilio's API.
- `infra`: a private nats-server process, the local PostgreSQL, free ports; `tls`: throwaway certs.
"""
