"""Secrets never reach the logs: nested values, the standard library's loggers, every kind of token.

Before the fix redaction looked at top-level string values of structlog events only: a secret in
a nested dict, a Stripe restricted key, a bearer or session token, a password in a URL and
anything logged through `logging` (uvicorn, SQLAlchemy) were written as they were.
"""

import io
import logging

import structlog
import uvicorn

from runtime import logs
from services.gateway.config import GatewaySettings

DB_URL = "postgresql://gateway:hunter2-db-pass@db.internal:5432/gateway"


def test_secrets_in_nested_values_and_free_text_are_redacted():
    event = logs.redact(
        None,
        "info",
        {
            "event": "stripe.call",
            "request": {"headers": {"Authorization": "Bearer sk_live_51Habc"}, "attempts": [{"password": "pw1"}]},
            "detail": (
                "restricted rk_live_51Hxyz and rk_test_51Hxyz, Authorization: Bearer adm1n-t0ken-value, "
                "Cookie: pp_session=s3ss10n-t0ken-value; __Host-pp_session=s3ss10n-t0ken-2, "
                f"database {DB_URL}, twilio https://AC0123:tw1l10-t0ken@api.twilio.com/2010-04-01"
            ),
            "count": 3,
        },
    )
    text = repr(event)
    for secret in (
        "sk_live_51Habc",
        "pw1",
        "rk_live_51Hxyz",
        "rk_test_51Hxyz",
        "adm1n-t0ken-value",
        "s3ss10n-t0ken-value",
        "s3ss10n-t0ken-2",
        "hunter2-db-pass",
        "tw1l10-t0ken",
    ):
        assert secret not in text, secret
    assert event["count"] == 3 and "db.internal:5432" in event["detail"]  # what is not secret stays readable


def test_api_keys_and_platform_keys_in_free_text_are_redacted():
    event = logs.redact(
        None,
        "info",
        {"event": "auth.failed", "detail": "tried ppk_T3nantKeyT3nantKey00 then ppi_Pl4tformKeyPl4tform00"},
    )
    assert "T3nantKey" not in event["detail"] and "Pl4tformKey" not in event["detail"]


def test_configured_secrets_are_redacted_wherever_they_appear():
    GatewaySettings(gateway_admin_token="the-configured-admin-token-1234", session_secret="sess-secret-5678xx")
    event = logs.redact(
        None,
        "info",
        {"event": "x", "detail": "got the-configured-admin-token-1234 and sess-secret-5678xx from a client"},
    )
    assert "the-configured-admin-token-1234" not in event["detail"] and "sess-secret-5678xx" not in event["detail"]


def test_standard_library_loggers_are_redacted_too():
    logs.configure(service="gateway")
    uvicorn.Config(app=None, log_level="info")  # uvicorn installs its own handlers, as when the service starts
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # any handler: the records themselves are redacted
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "sqlalchemy.pool", "sqlalchemy.engine")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        logging.getLogger("uvicorn.error").warning("could not reach %s", DB_URL)
        logging.getLogger("sqlalchemy.pool").error("connection to %s failed for Bearer %s", DB_URL, "adm1n-t0ken-value")
        try:
            raise RuntimeError(f"connect to {DB_URL} refused")
        except RuntimeError:
            logging.getLogger("sqlalchemy.engine").exception("while talking to rk_live_51Hxyz")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        structlog.reset_defaults()
    output = written.getvalue()
    assert "could not reach" in output and "connect to" in output
    for secret in ("hunter2-db-pass", "adm1n-t0ken-value", "rk_live_51Hxyz"):
        assert secret not in output, secret
