"""Whether the identity provider's database answers, as the stack reports it (``gatehold up``).

The identity-provider process finds out for itself on each request (the store's
:class:`~gatehold.idp.store.StoreUnavailable`: 503 with ``Retry-After``) and recovers by itself
(``pool_pre_ping``). The stack's ``/readyz`` and ``/metrics`` are served by the supervisor, which
asks the database for ``SELECT 1`` every :data:`INTERVAL_S` through a store of its own
(:class:`DatabaseWatch`): while it does not answer, ``/readyz`` says ``"database": {"status":
"down", …}`` (still 200: the gateway and client credentials go on, and every replica shares the
database, so taking them all out of a load balancer would only make things worse) and
``gatehold_idp_database_up`` is 0.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge

from gatehold.idp.store import Store
from gatehold.metrics import REGISTRY

log = logging.getLogger("gatehold.idp")

#: how often the stack asks the database whether it answers (s)
INTERVAL_S = 1.0

DATABASE_UP = Gauge(
    "gatehold_idp_database_up",
    "1 while the identity provider's database answers (gatehold up --database-url), else 0.",
    registry=REGISTRY,
)


class DatabaseWatch:
    """Pings ``store`` every ``interval`` seconds from the supervisor's event loop (in a thread: the
    driver blocks); :attr:`problem` is why the database does not answer, None while it does."""

    def __init__(self, store: Store, *, interval: float = INTERVAL_S) -> None:
        self.store = store
        self.interval = interval

    @property
    def problem(self) -> str | None:
        return self.store.problem

    def status(self) -> dict[str, str]:
        """``/readyz``'s ``database``: ``{"status": "up" | "down", "url": …, "reason": …}`` (the URL
        without its password; a reason while down)."""
        out = {"status": "down" if self.store.problem else "up", "url": self.store.redacted_url}
        if self.store.reason:
            out["reason"] = self.store.reason
        return out

    async def run(self) -> None:
        """Until cancelled; the store logs each change (down, up again)."""
        try:
            while True:
                problem = await asyncio.to_thread(self.store.ping)
                DATABASE_UP.set(0 if problem else 1)
                await asyncio.sleep(self.interval)
        finally:
            await asyncio.to_thread(self.store.close)
