"""Background jobs the runtime starts: scheduled channel tests, balance refresh, log retention,
Codex credential refresh.

Each job is an ``async def run_forever(runtime)`` coroutine that loops until
cancelled and never lets an exception escape one round. Every worker may run
them: a lease row (``storage.job_leases``) lets one worker of all nodes do each
period's work, and slave nodes never claim one.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from newapi.jobs import balances, channel_tests, codex_refresh, retention

if TYPE_CHECKING:
    from newapi.runtime import Runtime


def background_jobs(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    """The job coroutines to start as tasks (the jobs name the runtime only as a type)."""
    return [
        channel_tests.run_forever(runtime),
        retention.run_forever(runtime),
        balances.run_forever(runtime),
        codex_refresh.run_forever(runtime),
    ]
