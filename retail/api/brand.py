"""Brand operations of the partner API (placeholder: being written)."""
from __future__ import annotations

from retail.api import core

bp = core.blueprint("api_brand", "/api/v1/brand", "Brand")
