"""Every table, imported in one place so that Alembic and the app see the whole schema."""
from __future__ import annotations

from cogrow.accounts import models as accounts  # noqa: F401
from cogrow.alerts import models as alerts  # noqa: F401
from cogrow.catalog import models as catalog  # noqa: F401
from cogrow.core import models as core  # noqa: F401
from cogrow.coverage import models as coverage  # noqa: F401
from cogrow.edi import models as edi  # noqa: F401
from cogrow.forecasts import models as forecasts  # noqa: F401
from cogrow.imports import models as imports  # noqa: F401
from cogrow.liability import models as liability  # noqa: F401
from cogrow.money import models as money  # noqa: F401
from cogrow.orders import models as orders  # noqa: F401
from cogrow.production import models as production  # noqa: F401
from cogrow.relationships import models as relationships  # noqa: F401
from cogrow.reliability import models as reliability  # noqa: F401
from cogrow.scorecards import models as scorecards  # noqa: F401
from cogrow.shipments import models as shipments  # noqa: F401
