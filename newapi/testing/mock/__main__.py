"""``python -m newapi.testing.mock``: run the mock upstream as a process.

Prints ``LISTENING <port>`` on stdout once bound; exits cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from newapi.core.collector import freeze_long_lived_heap
from newapi.testing.mock.context import MockConfig
from newapi.testing.mock.server import MockUpstream
from newapi.testing.mock.thread import new_loop


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m newapi.testing.mock", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=20, help="content pieces per reply")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay between stream events")
    parser.add_argument("--require-key", default=None, help="reject other keys with 401")
    parser.add_argument("--max-records", type=int, default=100_000, help="request log size; 0 disables")
    parser.add_argument("--embedding-dims", type=int, default=16)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = MockConfig(
        chunks=args.chunks,
        latency=args.latency_ms / 1000.0,
        require_key=args.require_key,
        max_records=args.max_records,
        embedding_dims=args.embedding_dims,
    )
    upstream = MockUpstream(config)
    await upstream.start(args.host, args.port)
    # Run as a process, the mock stands in for a provider's server under load runs (10,000 open
    # streams in bench.load.streams): collect as the gateway's workers do, so that the mock's own
    # collector pauses (up to 120 ms with the defaults while streams open) are not read as the
    # gateway's latency.
    freeze_long_lived_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"LISTENING {upstream.port}\n")
    sys.stdout.flush()
    await stop.wait()
    await upstream.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(serve(args))


if __name__ == "__main__":
    main()
