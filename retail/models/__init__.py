"""The domain model: the tables of record, one module per area. Importing this package registers
every table on SQLModel.metadata (what the migrations compare against)."""
from retail.models.core import *  # noqa: F403
from retail.models.core import utcnow  # noqa: F401
from retail.models.imports import *  # noqa: F403,E402
from retail.models.replenishment import *  # noqa: F403,E402

# Areas added later register their tables by being imported here:
from retail.models.storeops import *  # noqa: F403,E402
