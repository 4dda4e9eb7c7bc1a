"""Store operations of the partner API (placeholder: being written)."""
from __future__ import annotations

from retail.api import core

bp = core.blueprint("api_store", "/api/v1/store", "Store")
