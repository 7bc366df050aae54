"""The database writes every ledger shares: consume logs, counters, hourly quota_data buckets.

Statements are built once; rows go in executemany batches in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from newapi.billing.ledger import LOG_COLUMNS
from newapi.storage.ledger_tables import FlushBatch, LogOutbox, QuotaLease
from newapi.storage.tables import Channel, Log, QuotaData, Token, User

USERS = cast(Table, User.__table__)
TOKENS = cast(Table, Token.__table__)
CHANNELS = cast(Table, Channel.__table__)
QUOTA_DATA = cast(Table, QuotaData.__table__)
LOGS = cast(Table, Log.__table__)
LEASES = cast(Table, QuotaLease.__table__)
BATCHES = cast(Table, FlushBatch.__table__)
OUTBOX = cast(Table, LogOutbox.__table__)


TAKE_USER = (
    update(USERS)
    .where(USERS.c.id == bindparam("b_id"), USERS.c.quota >= bindparam("b_n"))
    .values(quota=USERS.c.quota - bindparam("b_n"))
)
TAKE_TOKEN = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("b_id"), TOKENS.c.remain_quota >= bindparam("b_n"))
    .values(remain_quota=TOKENS.c.remain_quota - bindparam("b_n"))
)
SETTLE_USER = (
    update(USERS)
    .where(USERS.c.id == bindparam("b_id"))
    .values(
        quota=USERS.c.quota + bindparam("b_back"),
        used_quota=USERS.c.used_quota + bindparam("b_used"),
        request_count=USERS.c.request_count + bindparam("b_count"),
    )
)
SETTLE_TOKEN = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("b_id"))
    .values(
        remain_quota=TOKENS.c.remain_quota + bindparam("b_back"),
        used_quota=TOKENS.c.used_quota + bindparam("b_used"),
        accessed_time=bindparam("b_now"),
    )
)
SETTLE_CHANNEL = (
    update(CHANNELS)
    .where(CHANNELS.c.id == bindparam("b_id"))
    .values(used_quota=CHANNELS.c.used_quota + bindparam("b_used"))
)
_QD = QUOTA_DATA.c
BUMP_QUOTA_DATA = (
    update(QUOTA_DATA)
    .where(
        _QD.user_id == bindparam("b_user"),
        _QD.username == bindparam("b_username"),
        _QD.model_name == bindparam("b_model"),
        _QD.created_at == bindparam("b_hour"),
        _QD.use_group == bindparam("b_group"),
        _QD.token_id == bindparam("b_token"),
        _QD.channel_id == bindparam("b_channel"),
        _QD.node_name == bindparam("b_node"),
    )
    .values(
        count=_QD.count + bindparam("b_count"),
        quota=_QD.quota + bindparam("b_quota"),
        token_used=_QD.token_used + bindparam("b_tokens"),
    )
)


async def bump_bucket(
    conn: AsyncConnection, key: tuple[Any, ...], count: int, quota: int, used: int, node_name: str
) -> None:
    """Add to an hourly quota_data row (update, else insert: New API has no unique key on it)."""
    params = bucket_params(key, count, quota, used, node_name)
    result = await conn.execute(BUMP_QUOTA_DATA, params)
    if result.rowcount == 0:
        await conn.execute(
            insert(QUOTA_DATA).values(
                user_id=params["b_user"],
                username=params["b_username"],
                model_name=params["b_model"],
                created_at=params["b_hour"],
                use_group=params["b_group"],
                token_id=params["b_token"],
                channel_id=params["b_channel"],
                node_name=node_name,
                count=count,
                quota=quota,
                token_used=used,
            )
        )


def bucket_params(key: tuple[Any, ...], count: int, quota: int, used: int, node_name: str) -> dict[str, Any]:
    """:data:`BUMP_QUOTA_DATA`'s parameters for one hourly bucket."""
    user_id, username, model, hour, group, token_id, channel_id = key
    # quota_data's strings are varchar(64) in every dialect (log rows hold longer model names).
    username, model, group = username[:64], model[:64], group[:64]
    return {
        "b_user": user_id,
        "b_username": username,
        "b_model": model,
        "b_hour": hour,
        "b_group": group,
        "b_token": token_id,
        "b_channel": channel_id,
        "b_node": node_name,
        "b_count": count,
        "b_quota": quota,
        "b_tokens": used,
    }


def insert_logs_sql(dialect: str, rows: int = 1) -> str:
    """The driver's INSERT of ``rows`` consume-log rows (in LOG_COLUMNS order) per execution."""
    quote = "`" if dialect in ("sqlite", "mysql") else '"'
    columns = ", ".join(f"{quote}{c}{quote}" for c in LOG_COLUMNS)
    if dialect == "postgresql":
        marks = ", ".join(f"${i}" for i in range(1, len(LOG_COLUMNS) + 1))
    elif dialect == "mysql":
        marks = ", ".join("%s" for _ in LOG_COLUMNS)
    else:
        marks = ", ".join("?" for _ in LOG_COLUMNS)
    values = ", ".join([f"({marks})"] * rows)
    # Only our own constant column names and placeholders go into this text.
    return f"INSERT INTO logs ({columns}) VALUES {values}"  # noqa: S608


#: Log rows per SQLite statement: as many as 999 host parameters hold (SQLite's limit before
#: 3.32, and still the lowest a build may set), then 8, then 1 for the rest of a batch.
SQLITE_LOG_TIERS = (999 // len(LOG_COLUMNS), 8, 1)
_SQLITE_INSERTS = {size: insert_logs_sql("sqlite", size) for size in SQLITE_LOG_TIERS}
_WIDTH = len(LOG_COLUMNS)
_INT_SUBCLASSED = (LOG_COLUMNS.index("type"), LOG_COLUMNS.index("is_stream"))


def sqlite_log_batches(rows: Sequence[tuple[Any, ...]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """``rows`` as multi-row SQLite INSERTs: (statement, parameter sets) per tier, rows in order.

    Each execution of an INSERT opens a cursor on the table and on every one of its 14
    indexes, and pysqlite gives up and takes back the GIL around it: one row per execution
    (executemany of the one-row statement) cost 28 µs of the driver thread's CPU per row
    here, and under a busy event loop each row waited for the GIL again (0.5-0.7 context
    switches per row). 52 rows per execution cost 16 µs per row and one GIL hand-off per 52.
    The rows are the same, inserted in the same order (bench/README.md, "The embedded
    ledger's flush in the SQLite thread").
    """
    batches: list[tuple[str, list[tuple[Any, ...]]]] = []
    start = 0
    for size in SQLITE_LOG_TIERS:
        count = (len(rows) - start) // size
        if not count:
            continue
        sets = []
        for i in range(start, start + count * size, size):
            values = list(chain.from_iterable(rows[i : i + size]))
            # The log type (an IntEnum) and is_stream (a bool) as plain ints: the driver binds an
            # int subclass as the int it is, but only after looking for an adapter and failing
            # twice (two AttributeErrors, ~3.4k instructions a value, 12 % of a row's flush).
            for column in _INT_SUBCLASSED:
                found = values[column::_WIDTH]
                if None not in found:  # a NULL stays NULL
                    values[column::_WIDTH] = map(int, found)
            sets.append(tuple(values))
        batches.append((_SQLITE_INSERTS[size], sets))
        start += count * size
    return batches


async def insert_logs(
    conn: AsyncConnection,
    dialect: str,
    statement: str,
    rows: Sequence[Sequence[Any]],
    *,
    copy: bool = True,
) -> None:
    """Append consume-log rows (in LOG_COLUMNS order), inside the caller's transaction; on
    PostgreSQL through binary COPY unless ``copy`` is false (``statement``'s executemany then)."""
    if not rows:
        return
    if dialect == "postgresql" and copy:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "copy_records_to_table"):
            await driver.copy_records_to_table("logs", records=rows, columns=list(LOG_COLUMNS))
            return
    # The MySQL and SQLite paths take a batch as tuples only (rows decoded from the Redis stream
    # are lists: a Redis ledger over SQLite failed every flush); asyncmy then sends it as one
    # multi-row INSERT.
    tuples = [row if isinstance(row, tuple) else tuple(row) for row in rows]
    if dialect == "sqlite":
        for text, sets in sqlite_log_batches(tuples):
            await conn.exec_driver_sql(text, sets)
        return
    await conn.exec_driver_sql(statement, tuples)


# The batch entries of a flush, applied by PostgreSQL (see flusher.Flusher._apply_in_database). The
# record layout is ledger.debit_record's: the log row in LOG_COLUMNS order, then log and
# token_unlimited. The last row carries the total with no group, so it comes even when
# every record was applied before. jsonb, not json: PostgreSQL parses each payload once,
# where json's ->> scans the text again for every field (5-10x the database's CPU per row).
# The payloads (each a JSON array of records) travel joined into one JSON array, as one
# bytea: the bytes the stream holds. As text[] the worker decoded them to str and the
# driver encoded them back and grew its array buffer once per element: 80% of the
# flusher's CPU per debit.
APPLY_BATCHES = """
WITH parsed AS (
  SELECT (j->>0)::bigint AS user_id, (j->>1)::bigint AS created_at, (j->>2)::bigint AS type,
    j->>3 AS content, j->>4 AS username, j->>5 AS token_name, j->>6 AS model_name,
    (j->>7)::bigint AS quota, (j->>8)::bigint AS prompt_tokens, (j->>9)::bigint AS completion_tokens,
    (j->>10)::bigint AS use_time, (j->>11)::boolean AS is_stream, (j->>12)::bigint AS channel_id,
    (j->>13)::bigint AS token_id, j->>14 AS grp, j->>15 AS ip, j->>16 AS request_id,
    j->>17 AS upstream_request_id, j->>18 AS other, (j->>19)::boolean AS logged,
    (j->>20)::boolean AS unlimited
  FROM jsonb_array_elements(convert_from($1::bytea, 'UTF8')::jsonb) AS batch(payload),
    jsonb_array_elements(batch.payload) AS j
), claimed AS (
  INSERT INTO newapi_ledger_entries (id, created_at)
  SELECT DISTINCT request_id, $2::bigint FROM parsed
  ON CONFLICT (id) DO NOTHING RETURNING id
), fresh AS (
  SELECT DISTINCT ON (p.request_id) p.* FROM parsed p JOIN claimed c ON c.id = p.request_id
), written AS (
  INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name, quota,
    prompt_tokens, completion_tokens, use_time, is_stream, channel_id, token_id, "group", ip,
    request_id, upstream_request_id, other)
  SELECT user_id, created_at, type, content, username, token_name, model_name, quota,
    prompt_tokens, completion_tokens, use_time, is_stream, channel_id, token_id, grp, ip,
    request_id, upstream_request_id, other
  FROM fresh WHERE logged
)
SELECT user_id, token_id, channel_id, unlimited, logged, username, model_name, grp,
  created_at - created_at % 3600, count(*), sum(greatest(quota, 0))::bigint,
  sum(prompt_tokens + completion_tokens)::bigint, (SELECT count(*) FROM parsed)
FROM fresh GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, (SELECT count(*) FROM parsed)
"""

# The same without the logs, for a separate log database (see log_sink): only the ``written`` step goes.
APPLY_BATCHES_WITHOUT_LOGS = (
    APPLY_BATCHES[: APPLY_BATCHES.index("), written AS (")]
    + APPLY_BATCHES[APPLY_BATCHES.index(")\nSELECT user_id, token_id") :]
)

# A separate PostgreSQL log database takes the same payloads: it parses them, claims the request
# ids of the logged records in newapi_log_entries and writes the logs of the new ones (see log_sink).
LOG_BATCHES = (
    APPLY_BATCHES[: APPLY_BATCHES.index("), claimed AS (")]  # noqa: S608 - constant text only
    + """), claimed AS (
  INSERT INTO newapi_log_entries (id, created_at)
  SELECT DISTINCT request_id, $2::bigint FROM parsed WHERE logged
  ON CONFLICT (id) DO NOTHING RETURNING id
)
INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name, quota,
  prompt_tokens, completion_tokens, use_time, is_stream, channel_id, token_id, "group", ip,
  request_id, upstream_request_id, other)
SELECT DISTINCT ON (p.request_id) user_id, created_at, type, content, username, token_name, model_name,
  quota, prompt_tokens, completion_tokens, use_time, is_stream, channel_id, token_id, grp, ip,
  request_id, upstream_request_id, other
FROM parsed p JOIN claimed c ON c.id = p.request_id WHERE p.logged
"""
)


async def claim_ids(conn: AsyncConnection, dialect: str, table: str, idents: list[str], now: int) -> set[str]:
    """Record ``idents`` in claim table ``table`` (``id``, ``created_at``); returns those new to it.

    The SQLite and MySQL form (PostgreSQL callers claim with their own ``unnest`` statement).
    Straight to the driver: through SQLAlchemy the multi-row statement compiles anew for every
    batch size, which costs more than the insert. MySQL has no RETURNING: it reads which ids are
    there and inserts the rest; a writer claiming the same ids at once collides on the primary
    key, its transaction rolls back and its caller retries, so none is claimed twice.
    """
    new: set[str] = set()
    for start in range(0, len(idents), 400):
        chunk = idents[start : start + 400]
        if dialect == "mysql":
            marks = ", ".join("%s" for _ in chunk)
            seen = await conn.exec_driver_sql(
                f"SELECT id FROM {table} WHERE id IN ({marks})",  # noqa: S608 - our table, placeholders
                tuple(chunk),
            )
            missing = set(chunk).difference(row[0] for row in seen.all())
            if missing:
                await conn.exec_driver_sql(
                    f"INSERT INTO {table} (id, created_at) VALUES (%s, %s)",  # noqa: S608 - our table
                    [(ident, now) for ident in sorted(missing)],
                )
            new.update(missing)
            continue
        marks = ", ".join("(?, ?)" for _ in chunk)
        result = await conn.exec_driver_sql(
            f"INSERT INTO {table} (id, created_at) VALUES {marks}"  # noqa: S608 - our table, placeholders
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            tuple(value for ident in chunk for value in (ident, now)),
        )
        new.update(row[0] for row in result.all())
    return new
