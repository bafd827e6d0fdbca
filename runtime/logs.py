"""Structured logs (structlog) with secrets redacted before anything is written."""

from __future__ import annotations

import logging
import re
import sys

import structlog

SECRET_KEYS = re.compile(r"(secret|token|password|passwd|api_key|apikey|authorization|cookie|signature|reset_url)",
                         re.I)
SECRET_VALUES = re.compile(
    r"(sk_(live|test)_[A-Za-z0-9]+|whsec_[A-Za-z0-9+/=]+|pk_[A-Za-z0-9]{20,}|ppk_[A-Za-z0-9]{20,}|(?<=/password-reset/)[A-Za-z0-9_-]{20,}|(?<=#token=)[A-Za-z0-9_-]{20,})")


def redact(_logger, _name, event_dict: dict) -> dict:
    for key, value in list(event_dict.items()):
        if SECRET_KEYS.search(key):
            event_dict[key] = "***"
        elif isinstance(value, str):
            event_dict[key] = SECRET_VALUES.sub("***", value)
    return event_dict


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


def configure(*, service: str, level: str = "INFO", json_logs: bool = False) -> None:
    structlog.configure(
        processors=processors(json_logs=json_logs),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format=f"%(asctime)s {service} %(name)s %(levelname)s %(message)s"
    )
    for noisy in ("uvicorn.access", "nats", "faststream"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
