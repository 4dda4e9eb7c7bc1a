"""The domain model: the tables of record, one module per area. Importing this package registers
every table on SQLModel.metadata (what the migrations compare against); an area's module is
imported here."""
from retail.models.api import *  # noqa: F403
from retail.models.core import *  # noqa: F403
from retail.models.core import utcnow  # noqa: F401
from retail.models.customer_orders import *  # noqa: F403
from retail.models.dashboard import *  # noqa: F403
from retail.models.idempotency import *  # noqa: F403
from retail.models.imports import *  # noqa: F403
from retail.models.outbox import *  # noqa: F403
from retail.models.purchasing import *  # noqa: F403
from retail.models.ranging import *  # noqa: F403
from retail.models.replenishment import *  # noqa: F403
from retail.models.settlement import *  # noqa: F403
from retail.models.storeops import *  # noqa: F403
