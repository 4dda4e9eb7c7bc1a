"""A store's work for today, in the order a clerk does it: deliveries to receive, transfer requests to
answer, counts waiting for a manager (for those who may approve them), the suggested order to review,
SKUs selling out this week. Pure reads, from the reads of each subject; the store home shows them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from retail.models import CountStatus, StockCount, TransferStatus, User
from retail.services import access, deliveries, replenishment, stock, transfers
from retail.services.verbs import query

SELLING_OUT_WEEKS = 1.0  # cover shorter than this: the SKU may be gone before the week is out
LIST_LIMIT = 20


@dataclass(frozen=True)
class Today:
    deliveries: list  # deliveries.Delivery, on their way to the store
    to_answer: list[tuple]  # (request, product, other store's code, name), waiting for this store
    counts_waiting: list[StockCount]  # held for a manager; empty for those who may not approve
    suggested: replenishment.SuggestedOrder | None  # the latest plan's lines, while no order is made of them
    selling_out: list[stock.StockLine]
    lines: list[stock.StockLine]

    @property
    def tasks(self) -> int:
        return (len(self.deliveries) + len(self.to_answer) + len(self.counts_waiting)
                + (1 if self.suggested else 0) + len(self.selling_out))


@query
def counts_waiting(session: Session, *, store_id: int, limit: int = LIST_LIMIT) -> list[StockCount]:
    return list(session.execute(
        select(StockCount).where(StockCount.store_id == store_id, StockCount.status == CountStatus.pending_approval)
        .order_by(StockCount.counted_at, StockCount.id).limit(limit)).scalars())


@query
def today(session: Session, viewer: User, *, store_id: int, as_of: datetime) -> Today:
    lines = stock.stock_lines(session, store_id=store_id, as_of=as_of)
    asked = [r for r in transfers.requests(session, store_id=store_id, incoming=True, limit=LIST_LIMIT)
             if r[0].status == TransferStatus.requested]
    waiting = counts_waiting(session, store_id=store_id) if access.may_approve_counts(viewer, store_id) else []
    suggested = replenishment.suggested_order(session, store_id=store_id)
    if suggested is not None and (suggested.order is not None or not suggested.lines):
        suggested = None
    selling_out = [line for line in lines if line.selling and line.weeks_of_cover is not None
                   and line.weeks_of_cover < SELLING_OUT_WEEKS]
    return Today(deliveries=deliveries.open_deliveries(session, store_id=store_id), to_answer=asked,
                 counts_waiting=waiting, suggested=suggested, selling_out=selling_out, lines=lines)
