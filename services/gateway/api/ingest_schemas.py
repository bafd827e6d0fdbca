"""Bodies of the platform routes (API.md, "Usage and reservations over HTTP")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.gateway.api.schemas import ApiKeyItem, Strict


class PlatformKeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)


class PlatformKeyCreated(BaseModel):
    key: str
    prefix: str


class PlatformKeyItem(ApiKeyItem):
    name: str


class PlatformKeyList(BaseModel):
    items: list[PlatformKeyItem]
