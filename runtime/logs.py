"""Structured logs (structlog) with secrets redacted before anything is written.

Redacted: values under a key that names a secret (at any depth of nested dicts and lists), and in
any text: API, platform and Stripe keys (`sk_`, `rk_`, `whsec_`, `ppk_`, `ppi_`), bearer tokens, session cookies,
reset tokens, the password of any `scheme://user:password@` URL, and the configured value of every
setting whose name says it is a secret (`redact_values`, called by the settings). The standard
library's loggers (uvicorn, SQLAlchemy, nats) are redacted too: every log record is, when it is
made, so no handler installed later (uvicorn installs its own) can write a secret.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

SECRET_KEYS = re.compile(
    r"(secret|token|password|passwd|api_key|apikey|authorization|cookie|signature|reset_url|session|credential"
    r"|private_key|(^|_)auth($|_)|dsn)",
    re.I,
)
SECRET_VALUES = re.compile(
    r"(sk_(live|test)_[A-Za-z0-9]+|rk_(live|test)_[A-Za-z0-9]+|whsec_[A-Za-z0-9+/=]+|pk_[A-Za-z0-9]{20,}"
    r"|pp[ki]_[A-Za-z0-9]{20,}|(?<=/password-reset/)[A-Za-z0-9_-]{20,}|(?<=#token=)[A-Za-z0-9_-]{20,}"
    r"|(?<=[Bb]earer )[^\s,;\"']+|(?<=pp_session=)[^\s,;\"']+)"
)
URL_PASSWORD = re.compile(r"(?<=[a-z0-9+.-]://)([^/\s:@]+):[^@\s/]+@", re.I)
MIN_SECRET_CHARS = 8  # shorter configured values would redact ordinary words
_known_values: set[str] = set()
_known_pattern: re.Pattern | None = None


def redact_values(values: list[str | None]) -> None:
    """Redact these exact strings wherever they appear (configured secrets: admin token, Twilio token …)."""
    global _known_pattern
    new = {v for v in values if v and len(v) >= MIN_SECRET_CHARS} - _known_values
    if new:
        _known_values.update(new)
        _known_pattern = re.compile("|".join(re.escape(v) for v in sorted(_known_values, key=len, reverse=True)))


def redact_text(text: str) -> str:
    text = URL_PASSWORD.sub(r"\1:***@", SECRET_VALUES.sub("***", text))
    return _known_pattern.sub("***", text) if _known_pattern is not None else text


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and SECRET_KEYS.search(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return type(value)(redact_value(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def redact(_logger, _name, event_dict: dict) -> dict:
    return redact_value(event_dict)


def processors(*, json_logs: bool) -> list:
    """Tracebacks become plain text before redaction: no frame locals (a settings object holds keys),
    and a secret quoted in an exception message is redacted like any other value."""
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
        renderer,
    ]


def redact_standard_logging() -> None:
    """Every `logging` record is redacted as it is made: message, arguments and traceback."""
    base = logging.getLogRecordFactory()
    if getattr(base, "redacts", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: logging reports that itself
            return record
        redacted = redact_text(message)
        if redacted != message:  # only then: formatters that read `args` (uvicorn's access log) keep them
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def configure(*, service: str, level: str = "INFO", json_logs: bool = False) -> None:
    structlog.configure(
        processors=processors(json_logs=json_logs),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    redact_standard_logging()
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format=f"%(asctime)s {service} %(name)s %(levelname)s %(message)s"
    )
    for noisy in ("uvicorn.access", "nats", "faststream"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
