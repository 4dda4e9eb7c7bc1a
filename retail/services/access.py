"""Who may see and act on what: the one home of the store-scoping rules (no Flask here).

Store staff and managers work in their own store only; planners and admins may pick any store;
brand partners have no store pages (they use the partner API). An integration account (a partner's system
through an API key, retail/models/api.py) acts for its one store or its one brand.
"""
from __future__ import annotations

from retail import errors
from retail.models import Role, User

STORE_ROLES = {Role.store_staff, Role.store_manager}
NETWORK_ROLES = {Role.admin, Role.planner}


def may_pick_any_store(user: User) -> bool:
    return user.role in NETWORK_ROLES


def check_store(user: User, store_id: int) -> None:
    """Raise Forbidden unless `user` may work in store `store_id`."""
    if user.role in NETWORK_ROLES:
        return
    if user.role in STORE_ROLES | {Role.integration} and user.store_id == store_id:
        return
    raise errors.Forbidden(what=f"store {store_id}")


def may_approve_counts(user: User, store_id: int) -> bool:
    if user.role == Role.admin:
        return True
    return user.role == Role.store_manager and user.store_id == store_id


def check_network(user: User) -> None:
    """Raise Forbidden unless `user` works for the whole network (planners and admins)."""
    if user.role not in NETWORK_ROLES:
        raise errors.Forbidden(what="the network")


def check_brand(user: User, brand_id: int) -> None:
    """Raise Forbidden unless `user` may act for brand `brand_id`: its partners and its integration account,
    planners and admins."""
    if user.role in NETWORK_ROLES:
        return
    if user.role in (Role.brand_partner, Role.integration) and user.brand_id is not None and user.brand_id == brand_id:
        return
    raise errors.Forbidden(what=f"brand {brand_id}")


def check_admin(user: User) -> None:
    if user.role != Role.admin:
        raise errors.Forbidden(what="administration")


def home_store_id(user: User) -> int | None:
    """The store a user lands on after signing in, if any."""
    return user.store_id if user.role in STORE_ROLES else None


def may_submit_orders(user: User, store_id: int) -> bool:
    """The suggested order is submitted by the store's manager (or a planner or admin for them)."""
    if user.role in NETWORK_ROLES:
        return True
    return user.role in (Role.store_manager, Role.integration) and user.store_id == store_id
