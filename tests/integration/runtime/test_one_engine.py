"""PostgreSQL is the only engine: other URLs are refused at start-up with a clear message, and every
service's schema stores time as `timestamptz` (instants, compared in UTC)."""

import importlib

import pytest
import sqlalchemy as sa

from runtime.db import Database, UnsupportedDatabase
from runtime.migrations import upgrade

SERVICES = ("payments", "billing", "documents", "notify", "gateway")


def settings_class(service: str):
    module = importlib.import_module(f"services.{service}.config")
    return next(
        getattr(module, name)
        for name in dir(module)
        if name.endswith("Settings") and getattr(module, name).__module__ == module.__name__
    )


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///var/billing.db", "sqlite:///:memory:", "mysql://root@127.0.0.1/test", "not a url"]
)
@pytest.mark.parametrize("service", SERVICES)
def test_a_database_url_that_is_not_postgresql_is_refused_at_start_up(service, url):
    with pytest.raises(ValueError, match=r"PostgreSQL|database URL"):
        settings_class(service)(database_url=url, app_env="test")


def test_without_a_database_url_a_service_says_what_to_set(monkeypatch):
    for name in ("DATABASE_URL", "BILLING_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_class("billing")(app_env="test")
    with pytest.raises(ValueError, match="BILLING_DATABASE_URL or DATABASE_URL"):
        settings.resolved_database_url()


def test_the_database_layer_refuses_other_engines_too():
    with pytest.raises(UnsupportedDatabase):
        Database("sqlite+aiosqlite:///x.db", "billing")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_timestamp_column_is_timestamptz(service, database_url, new_schema):
    db = Database(database_url, new_schema(service[:3]))
    try:
        await upgrade(db, f"services/{service}/migrations")
        query = sa.text(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = :s AND data_type = 'timestamp without time zone'"
        )
        async with db.sessions() as session:
            naive = list((await session.execute(query, {"s": db.schema})).scalars())
    finally:
        await db.dispose()
    assert naive == []
