"""Brand operations of the partner API: a brand partner's system reads and maintains its catalogue, and
reads its stock, sell-through and forecasts across the network; it answers the purchase orders addressed to
it and sends advance shipment notices. Every query is filtered by the key's brand (`core.brand_id()`):
another brand's object is 404.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from retail.api import core
from retail.models import Product
from retail.request_db import db_session

bp = core.blueprint("api_brand", "/api/v1/brand", "Brand",
                    "For brand partners' systems, with a key bound to the brand.")

SKU = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", examples=["RK-MAX2-BLK"])]


class ProductOut(BaseModel):
    sku: SKU
    model: str = Field(examples=["Rokid Max 2"])
    variant: str = Field(examples=["black"])
    category: Literal["audio", "camera", "ar"]
    barcode: str | None = Field(default=None, examples=["6970000000017"])
    list_prices: list[core.Money] = Field(description="In CNY and HKD.")
    wholesale_cost: core.Money
    pack_size: int = Field(ge=1)
    serialised: bool
    launch_date: date
    eol_date: date | None = None
    version: int = Field(ge=1, description="Also the ETag: send it back as If-Match to change the product.")


class ProductPage(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None = None


class ProductQuery(core.PageQuery):
    category: Literal["audio", "camera", "ar", ""] = ""


def product_out(product: Product) -> dict:
    return {"sku": product.sku, "model": product.model, "variant": product.variant, "category": product.category,
            "barcode": product.barcode,
            "list_prices": [core.money(product.list_price_cny, "CNY"), core.money(product.list_price_hkd, "HKD")],
            "wholesale_cost": core.money(product.wholesale_cost, product.cost_currency),
            "pack_size": product.pack_size, "serialised": product.serialised, "launch_date": product.launch_date,
            "eol_date": product.eol_date, "version": product.version}


@bp.get("/products", responses={200: ProductPage}, summary="The brand's products, by SKU")
def list_products(query: ProductQuery):
    brand_id = core.brand_id()
    after = core.decode_cursor(query.cursor)
    statement = select(Product).where(Product.brand_id == brand_id).order_by(Product.sku).limit(query.limit + 1)
    if after is not None:
        statement = statement.where(Product.sku > str(after[0]))
    if query.category:
        statement = statement.where(Product.category == query.category)
    rows, next_cursor = core.page_of(list(db_session().execute(statement).scalars()), query, lambda p: (p.sku,))
    return core.page([product_out(p) for p in rows], next_cursor=next_cursor, query=query)
