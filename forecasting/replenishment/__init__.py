"""Replenishment mathematics: forecast quantiles to order lines, allocation, rebalancing.

Pure functions on frames (pandas in, pandas out): no clock (the caller passes `as_of`),
no database, no web framework.
"""

from forecasting.replenishment.allocation import allocate, purchase_proposals
from forecasting.replenishment.policy import (
    PolicyConfig,
    ServiceLevels,
    explain,
    order_lines,
    pack_round,
    plan_orders,
    reasons,
)
from forecasting.replenishment.rebalancing import apply_transfers, propose_transfers

__all__ = [
    "PolicyConfig", "ServiceLevels", "allocate", "apply_transfers", "explain", "order_lines", "pack_round", "plan_orders",
    "propose_transfers", "purchase_proposals", "reasons",
]
