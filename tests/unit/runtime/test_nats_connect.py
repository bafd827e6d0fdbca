"""NATS credentials and TLS come from the settings (API.md), per service where one environment is shared."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from runtime.nats_connect import broker_options, connect_options
from runtime.settings import ServiceSettings
from services.billing.config import BillingSettings


def test_without_credentials_a_service_connects_anonymously_with_its_private_inbox():
    options = connect_options(ServiceSettings(), name="billing")
    assert "user" not in options and "user_credentials" not in options and "tls" not in options
    assert options["inbox_prefix"] == "_INBOX_billing"
    assert broker_options(BillingSettings())["security"] is None


def test_user_and_password_are_passed_and_never_shown(monkeypatch):
    monkeypatch.setenv("NATS_USER", "billing")
    monkeypatch.setenv("NATS_PASSWORD", "pSecret")
    settings = BillingSettings()
    assert settings.nats_authenticated
    assert connect_options(settings, name="billing")["password"] == "pSecret"
    assert "pSecret" not in repr(settings)
    security = broker_options(settings)["security"]
    assert (security.username, security.password) == ("billing", "pSecret")


def test_a_services_own_variables_win_over_the_shared_ones(monkeypatch):
    monkeypatch.setenv("NATS_USER", "someone")
    monkeypatch.setenv("NATS_PASSWORD", "pShared")
    monkeypatch.setenv("BILLING_NATS_USER", "billing")
    monkeypatch.setenv("BILLING_NATS_PASSWORD", "pBilling")
    settings = BillingSettings()
    assert (settings.nats_user, settings.nats_password.get_secret_value()) == ("billing", "pBilling")


def test_a_user_without_a_password_is_refused():
    with pytest.raises(ValidationError, match="NATS_USER and NATS_PASSWORD"):
        ServiceSettings(nats_user="billing")
    with pytest.raises(ValidationError, match="NATS_TLS_CERT and NATS_TLS_KEY"):
        ServiceSettings(nats_tls_cert="/tls/cert.pem")


def test_a_credentials_file_and_tls_are_passed(tmp_path):
    from devtools.tls import make_self_signed_cert

    cert = make_self_signed_cert(tmp_path)
    settings = ServiceSettings(
        nats_creds="/run/nats/billing.creds",
        nats_tls_ca=str(cert.cert_file),
        nats_tls_cert=str(cert.cert_file),
        nats_tls_key=str(cert.key_file),
    )
    options = connect_options(settings, name="billing")
    assert options["user_credentials"] == "/run/nats/billing.creds"
    assert isinstance(options["tls"], ssl.SSLContext) and options["tls"].verify_mode == ssl.CERT_REQUIRED
