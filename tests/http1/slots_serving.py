"""``tests.http1.serving``'s app behind the supervisor with one listening socket per worker slot,
as ``newapi serve`` binds them: ``python -m tests.http1.slots_serving CONFIG``.

CONFIG is JSON: ``port``, ``workers``, ``slots_log`` (a file each worker appends "slot pid
socket-inode" to when it starts), ``crash_marker`` (while that file exists, slot 2's worker
exits at once, as one that cannot start) and ``respawn_delay`` (seconds before a respawn once a
slot's worker died young twice in a row).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys

from tests.http1 import serving


def _worker(sock: socket.socket, index: int) -> int:
    marker = serving.CONFIG.get("crash_marker")
    if index == 1 and marker and os.path.exists(marker):
        return 1
    with open(serving.CONFIG["slots_log"], "a") as out:
        out.write(f"{index} {os.getpid()} {os.fstat(sock.fileno()).st_ino}\n")
    return serving.run_worker(sock, index)


def main(argv: list[str]) -> int:
    from newapi.http1.processes import Listeners, Processes

    serving.CONFIG.update(json.loads(argv[0]))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    workers = int(serving.CONFIG.get("workers", 2))
    try:
        listeners = Listeners.open(
            serving.CONFIG.get("host", "127.0.0.1"), int(serving.CONFIG["port"]), 128, workers
        )
    except OSError as exc:
        logging.getLogger("newapi.supervisor").error("%s", exc)
        return 1
    delay = float(serving.CONFIG.get("respawn_delay", 0.05))
    return Processes(
        _worker,
        listeners,
        workers=workers,
        kill_timeout=5.0,
        give_up_after=100,
        delay=lambda streak: 0.0 if streak <= 1 else delay,
    ).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
