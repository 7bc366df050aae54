"""One worker per period: jobs claim a lease row before each run (see ``storage.job_leases``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from newapi.storage.job_leases import claim

if TYPE_CHECKING:
    from newapi.runtime import Runtime


def holder(runtime: Runtime) -> str:
    return f"{runtime.settings.node_name or 'node'}:{os.getpid()}"


async def claim_period(runtime: Runtime, name: str, seconds: int) -> bool:
    """True if this worker should run job ``name`` now; nobody else will for ``seconds``.

    Slave nodes (``NODE_TYPE=slave``) never run background jobs, as in New API.
    """
    if not runtime.settings.is_master:
        return False
    # A little under the period, so the next period's claim is never refused by this one.
    return await claim(runtime.engine, name, holder(runtime), max(1, seconds - 5))
