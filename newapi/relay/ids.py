"""Request ids in New API's style: a timestamp and a random tail."""

from __future__ import annotations

import os
import time


def new_request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + os.urandom(6).hex()
