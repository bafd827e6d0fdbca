"""Logged failures keep their traceback, lose frame locals, and never carry a secret."""

import json

import pytest
import structlog

from runtime.logs import processors


def _charge(api_key: str) -> None:
    secret_local = api_key  # noqa: F841 - a local that a locals-printing formatter would show
    raise RuntimeError(f"Stripe refused key {api_key}")


@pytest.mark.parametrize("json_logs", [True, False])
def test_an_exception_is_logged_with_its_traceback_and_without_secrets(json_logs):
    key = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
    lines: list[str] = []
    log = structlog.wrap_logger(structlog.ReturnLogger(), processors=processors(json_logs=json_logs))
    try:
        _charge(key)
    except RuntimeError:
        lines.append(log.exception("rpc.failed", subject="rpc.payments.x"))
    [line] = lines
    text = json.loads(line)["exception"] if json_logs else line
    assert "Traceback (most recent call last)" in text and "_charge" in text
    assert "RuntimeError: Stripe refused key ***" in text
    assert key not in line and "secret_local" not in line
