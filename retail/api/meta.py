"""The key itself: who the API takes the caller for (a cheap call, also the ceiling of the load script)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from retail.api import core

bp = core.blueprint("api_meta", "/api/v1", "Key")


class Me(BaseModel):
    key_prefix: str = Field(examples=["k7m2q9x4ab"])
    tenant: Literal["brand", "store"]
    brand_id: int | None = None
    store_id: int | None = None
    scopes: list[Literal["read", "write"]]
    language: Literal["zh_Hans", "zh_Hant", "en"]


@bp.get("/me", responses={200: Me}, summary="The calling key: its tenant, scopes and language")
def me():
    caller = core.caller()
    return core.ok({"key_prefix": caller.prefix, "tenant": "brand" if caller.brand_id else "store",
                    "brand_id": caller.brand_id, "store_id": caller.store_id,
                    "scopes": sorted(caller.scopes), "language": caller.language})
