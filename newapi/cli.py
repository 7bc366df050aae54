"""``newapi``: serve the gateway or migrate its database.

Flags mirror New API's environment variables; a flag given on the command line
is exported as that variable so every worker process sees the same settings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from newapi import __version__

if TYPE_CHECKING:
    from newapi.settings import Settings

# flag -> (environment variable, help)
_FLAGS: dict[str, tuple[str, str]] = {
    "--port": ("PORT", "port to listen on (default 3000)"),
    "--host": ("NEWAPI_HOST", "address to bind (default 0.0.0.0)"),
    "--sql-dsn": ("SQL_DSN", "database DSN: postgres://..., a MySQL DSN, or empty for SQLite"),
    "--sqlite-path": ("SQLITE_PATH", "SQLite file when SQL_DSN is empty (default one-api.db)"),
    "--log-sql-dsn": ("LOG_SQL_DSN", "separate database for logs"),
    "--redis-conn-string": ("REDIS_CONN_STRING", "Redis URL; enables shared caches, limits and the ledger"),
    "--session-secret": ("SESSION_SECRET", "secret signing session cookies (same on every node)"),
    "--crypto-secret": ("CRYPTO_SECRET", "secret for Redis key HMACs (defaults to SESSION_SECRET)"),
    "--node-type": ("NODE_TYPE", "master (default) or slave: slaves skip migrations and background jobs"),
    "--node-name": ("NODE_NAME", "this node's name in logs and statistics"),
    "--sync-frequency": ("SYNC_FREQUENCY", "seconds between cache reloads (default 60)"),
    "--streaming-timeout": (
        "STREAMING_TIMEOUT",
        "idle seconds before an upstream stream is cut (default 300)",
    ),
    "--relay-timeout": ("RELAY_TIMEOUT", "whole-request upstream timeout in seconds (0 = none)"),
    "--max-request-body-mb": ("MAX_REQUEST_BODY_MB", "decompressed request body limit (default 128)"),
    "--data-dir": ("NEWAPI_DATA_DIR", "directory for the SQLite database"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newapi", description="An LLM API gateway compatible with New API.")
    parser.add_argument("--version", action="version", version=f"newapi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway with Granian")
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    for target in (serve, migrate):
        for flag, (env, text) in _FLAGS.items():
            target.add_argument(flag, dest=env, metavar="VALUE", help=f"{text} [env {env}]")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--access-log", action="store_true", help="log every request (keys are never logged)")
    serve.add_argument("--no-migrate", action="store_true", help="skip migrations at startup")
    return parser


def _export(args: argparse.Namespace) -> None:
    from newapi.settings import apply_overrides

    apply_overrides(
        {env: value for env, _ in _FLAGS.values() if (value := getattr(args, env, None)) is not None}
    )


def _migrate() -> int:
    from newapi.settings import get_settings
    from newapi.storage.migrate import migrate

    kind = asyncio.run(migrate(get_settings()))
    print(f"database ({kind}) is up to date")
    return 0


def _warn_weak_secret(settings: Settings) -> None:
    # Here, in the process that starts the workers: one warning per node, not one per worker.
    from newapi.settings import MIN_SECRET_BYTES, secret_weakness

    weakness = secret_weakness(settings.session_secret)
    if weakness:
        logging.getLogger("newapi").warning(
            "SESSION_SECRET %s: anyone who knows or guesses it can forge dashboard sessions. "
            "Set SESSION_SECRET to a random value of at least %d bytes (e.g. `openssl rand -hex 32`).",
            weakness,
            MIN_SECRET_BYTES,
        )


def _build_token_tables() -> None:
    """Build the compiled counter's shared rank tables (newapi.tokens.shared_table) if missing.

    Here, in the process about to exec the server, rather than in the first worker: a worker that
    builds one keeps the build's freed heap (about 8 MB more RSS than its sibling, measured with
    ``bench.load.table``'s idle worker on a fresh data directory); exec hands all of it back.
    """
    from newapi._speedups import is_compiled, select

    if is_compiled(select("tokens")):
        from newapi.tokens.encodings import preload

        preload()


def _serve(args: argparse.Namespace) -> int:
    from newapi.server import serve
    from newapi.settings import get_settings, share_generated_secret

    share_generated_secret()
    settings = get_settings()
    settings.check_multi_node()
    _warn_weak_secret(settings)
    if settings.is_master and not args.no_migrate:
        from newapi.storage.migrate import migrate

        asyncio.run(migrate(settings))
    elif not settings.is_master:
        from newapi.storage.migrate import SchemaNotReady, wait_for_schema

        try:
            asyncio.run(wait_for_schema(settings))
        except SchemaNotReady as exc:
            print(f"newapi: {exc}", file=sys.stderr)
            return 2
    _build_token_tables()
    workers = args.workers if args.workers is not None else (settings.workers or os.cpu_count() or 1)
    serve(settings, workers=workers, log_level=args.log_level, access_log=args.access_log)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _export(args)
    from newapi.settings import SettingsError

    try:
        if args.command == "migrate":
            return _migrate()
        return _serve(args)
    except SettingsError as exc:
        print(f"newapi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
