"""The stock ledger: movements, balances, serial units and shipments (see docs/ledger.md).

Internal to the service layer. These primitives apply the stock rules (never negative, one serial
per unit, a serial only where the register has it) inside the transaction of the verb that calls them;
they check no actor and never commit. Web forms, the API and the CLI call verbs, never these
(import-linter contract "adapters reach the ledger only through verbs" in pyproject.toml).
"""
# ruff: noqa: F401 (the package re-exports its primitives)
from retail.services.ledger.moves import (
    SerialCount,
    adjust_count,
    check_serial_count,
    move_demo,
    receive_purchase,
    record_return,
    record_sale,
    write_off,
)
from retail.services.ledger.postings import (
    change_balance,
    check_quantity,
    clean_serials,
    last_movement_of_serial,
    last_sale_of_serial,
    location_by_id,
    move_serials,
    post_movement,
    serial_rows,
    serials_at,
)
from retail.services.ledger.shipments import Line, receive, ship
