"""Request ids in New API's style: a timestamp and a unique tail."""

from __future__ import annotations

import itertools
import os
import time

_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_prefix = ""
_second = -1
_process = os.urandom(3).hex()


def new_request_id() -> str:
    """``YYYYmmddHHMMSS`` + 6 hex of this process + a per-process counter (unique, cheap)."""
    global _prefix, _second
    now = int(time.time())
    if now != _second:
        _second = now
        _prefix = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + _process
    return f"{_prefix}{next(_counter) & 0xFFFFFF:06x}"


def _reseed() -> None:
    global _counter, _process, _second
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _process = os.urandom(3).hex()
    _second = -1


# Workers forked after import must not share a tail.
os.register_at_fork(after_in_child=_reseed)
