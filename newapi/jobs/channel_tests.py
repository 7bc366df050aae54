"""Testing many channels: "test all" from the console and the scheduled tests.

Each channel goes through the same single-channel test as ``/api/channel/test/:id``
(which saves the response time, disables on disable-worthy errors and re-enables
an auto-disabled channel that passes). On top of that a channel slower than
``ChannelDisableThreshold`` seconds is disabled, as New API's test-all does.
Channels are tested a few at a time; manually disabled channels never are.

Scheduled tests run every ``CHANNEL_TEST_FREQUENCY`` minutes when that is set,
otherwise every ``monitor_setting.auto_test_channel_minutes`` when
``monitor_setting.auto_test_channel_enabled`` is on. The mode
``monitor_setting.channel_test_mode`` = ``passive_recovery`` tests only
auto-disabled channels.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newapi.channel_test import test_channel
from newapi.core.constants import ChannelStatus
from newapi.jobs.lease import claim_period
from newapi.notify.notices import channel_disabled, channel_tests_done
from newapi.storage.channels import set_channel_status

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4

# The test-all run of each worker's runtime, so a second request sees it running.
_running: dict[int, asyncio.Task[TestSummary]] = {}


@dataclass
class TestSummary:
    tested: int = 0
    passed: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)
    enabled: list[int] = field(default_factory=list)


def _candidates(runtime: Runtime, mode: str) -> list[int]:
    wanted = (
        (ChannelStatus.AUTO_DISABLED,)
        if mode == "passive_recovery"
        else (ChannelStatus.ENABLED, ChannelStatus.AUTO_DISABLED, ChannelStatus.UNKNOWN)
    )
    return sorted(c.id for c in runtime.channels.by_id.values() if c.status in wanted)


async def _test_one(runtime: Runtime, channel_id: int, summary: TestSummary, mode: str) -> None:
    before = runtime.channels.by_id.get(channel_id)
    if before is None:
        return
    result = await test_channel(runtime, channel_id)
    summary.tested += 1
    if not result.success:
        summary.failed += 1
    else:
        summary.passed += 1
    options = runtime.options
    threshold = options.get_float("ChannelDisableThreshold", 5.0)
    slow = result.success and threshold > 0 and result.seconds > threshold
    after = runtime.channels.by_id.get(channel_id)
    status = after.status if after is not None else before.status
    if (
        slow
        and mode != "passive_recovery"
        and status == ChannelStatus.ENABLED
        and before.auto_ban
        and options.get_bool("AutomaticDisableChannelEnabled")
    ):
        reason = f"response time {result.seconds:.2f}s exceeds the {threshold:g}s threshold"
        async with runtime.sessions() as db, db.begin():
            await set_channel_status(db, channel_id, ChannelStatus.AUTO_DISABLED, reason)
        await runtime.invalidate("channels")
        runtime.notifier.notify_root(channel_disabled(channel_id, before.name, reason))
        status = ChannelStatus.AUTO_DISABLED
    if status != before.status:
        (summary.enabled if status == ChannelStatus.ENABLED else summary.disabled).append(channel_id)


async def test_all(
    runtime: Runtime, *, mode: str = "scheduled_all", concurrency: int = DEFAULT_CONCURRENCY
) -> TestSummary:
    """Test every eligible channel, ``concurrency`` at a time; returns what happened."""
    summary = TestSummary()
    gate = asyncio.Semaphore(max(1, concurrency))
    pause = max(0, runtime.settings.polling_interval)

    async def one(channel_id: int) -> None:
        async with gate:
            try:
                await _test_one(runtime, channel_id, summary, mode)
            except Exception:
                summary.failed += 1
                log.warning("testing channel %d failed unexpectedly", channel_id, exc_info=True)
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(one(cid) for cid in _candidates(runtime, mode)))
    log.info(
        "channel tests: %d tested, %d passed, %d disabled, %d re-enabled",
        summary.tested,
        summary.passed,
        len(summary.disabled),
        len(summary.enabled),
    )
    runtime.notifier.notify_root(
        channel_tests_done(summary.tested, summary.passed, summary.disabled, summary.enabled)
    )
    return summary


def start(runtime: Runtime) -> asyncio.Task[TestSummary] | None:
    """Start a test-all run in the background; None if one is already running here."""
    current = _running.get(id(runtime))
    if current is not None and not current.done():
        return None
    task = asyncio.create_task(test_all(runtime), name="channel-test-all")
    _running[id(runtime)] = task
    task.add_done_callback(
        lambda t: _running.pop(id(runtime), None) if _running.get(id(runtime)) is t else None
    )
    return task


def running(runtime: Runtime) -> asyncio.Task[TestSummary] | None:
    task = _running.get(id(runtime))
    return task if task is not None and not task.done() else None


def interval_minutes(runtime: Runtime) -> int:
    """Minutes between scheduled runs, or 0 when scheduled tests are off."""
    if runtime.settings.channel_test_frequency > 0:
        return runtime.settings.channel_test_frequency
    options = runtime.options
    if options.get_bool("monitor_setting.auto_test_channel_enabled"):
        return max(1, options.get_int("monitor_setting.auto_test_channel_minutes", 10))
    return 0


async def run_forever(runtime: Runtime, *, idle_check: float = 60.0) -> None:
    """The scheduled tests: sleeps, and tests every channel each period while enabled."""
    while True:
        minutes = interval_minutes(runtime)
        await asyncio.sleep(minutes * 60 if minutes else idle_check)
        minutes = interval_minutes(runtime)
        if not minutes:
            continue
        mode = runtime.options.get("monitor_setting.channel_test_mode", "scheduled_all") or "scheduled_all"
        if running(runtime) is not None:
            continue
        try:
            if await claim_period(runtime, "channel_tests", (minutes or 1) * 60):
                await test_all(runtime, mode=mode)
        except Exception:
            log.warning("scheduled channel tests failed; will retry next period", exc_info=True)
