"""Customer orders (issue 17, the endless aisle): a SKU not on the shelf ordered for a customer. Filled in by
the customer-order work; see docs/customer-orders.md."""
from __future__ import annotations

__all__: list[str] = []
