"""New API's system performance guard (``performance_setting.monitor_*``).

A periodic task samples CPU, memory and disk use; while one is above its threshold,
relay requests are refused with 503. The relay reads one attribute per request.
"""

from __future__ import annotations

import logging

from newapi.core.errors import ServiceUnavailable
from newapi.core.ticks import sleep_to_tick
from newapi.options.store import OptionStore

log = logging.getLogger(__name__)

#: Seconds between samples.
SAMPLE_EVERY = 1.0


class LoadGuard:
    """``refusal()`` is the error to answer relay requests with; ``overloaded`` is "" when fine."""

    def __init__(self, options: OptionStore, disk_path: str) -> None:
        self._options = options
        self._disk_path = disk_path
        self.overloaded = ""  # "cpu", "memory" or "disk" while above its threshold
        self._measuring = False

    def sample(self) -> None:
        options = self._options
        if not options.get_bool("performance_setting.monitor_enabled"):
            self.overloaded = ""
            return
        # Imported once the guard is first enabled: psutil is 0.8 MB of every worker's memory,
        # and the guard is off by default.
        import psutil

        if not self._measuring:
            # The first call only starts the CPU measurement (it answers 0.0); the next sample,
            # a second later, sees the CPU use in between.
            psutil.cpu_percent(None)
            self._measuring = True
        checks = (
            ("cpu", "performance_setting.monitor_cpu_threshold", psutil.cpu_percent(None)),
            ("memory", "performance_setting.monitor_memory_threshold", psutil.virtual_memory().percent),
            (
                "disk",
                "performance_setting.monitor_disk_threshold",
                psutil.disk_usage(self._disk_path).percent,
            ),
        )
        for name, key, used in checks:
            threshold = options.get_float(key, 0.0)
            if 0 < threshold < used:
                if self.overloaded != name:
                    log.warning("%s use %.0f%% is above %g%%: refusing relay requests", name, used, threshold)
                self.overloaded = name
                return
        self.overloaded = ""

    def refusal(self) -> ServiceUnavailable:
        # A new instance each time: re-raising one would grow its traceback without end.
        name = self.overloaded
        return ServiceUnavailable(
            f"system {name} overloaded, please try again later", code=f"system_{name}_overloaded"
        )

    async def run_forever(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:
                log.warning("sampling the system load failed", exc_info=True)
            await sleep_to_tick(SAMPLE_EVERY)
