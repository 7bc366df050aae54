"""Consume-log rows written to SQLite in multi-row statements are the rows one-row inserts write.

``insert_logs`` packs a flush's rows into INSERTs of 52, 8 and 1 rows (issue 19: a row per
execution cost the driver thread twice the CPU); every column, the ids' order included, must
come out as New API's one-row inserts leave them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from newapi.billing.db_writes import LOGS, insert_logs, insert_logs_sql, sqlite_log_batches
from newapi.billing.ledger import LOG_COLUMNS
from newapi.core.constants import LogType


def _row(i: int) -> tuple[Any, ...]:
    other = '{"model_ratio":0.075,"group_ratio":1,"frt":-1000}' if i % 3 else ""
    return (
        i % 7 + 1,  # user_id
        1_796_435_040 + i,  # created_at
        2 if i % 5 else 5,  # type
        "" if i % 4 else f"模型 {i} \u2028 'quoted' \"and\" \\ back",  # content
        f"user{i % 7}",  # username
        "tök" if i % 2 else "",  # token_name
        "gpt-4o-mini" if i % 2 else "claude-3-5-sonnet-20241022",  # model_name
        (2**62 + i) if i == 5 else -i,  # quota (large and negative)
        i * 10,  # prompt_tokens
        i,  # completion_tokens
        i % 3,  # use_time
        bool(i % 2),  # is_stream
        None if i == 4 else i % 3,  # channel_id
        i % 9,  # token_id
        "default" if i % 2 else "vip",  # group
        "127.0.0.1" if i % 2 else "",  # ip
        f"req-{i:08d}",  # request_id
        "" if i % 2 else f"chatcmpl-{i}",  # upstream_request_id
        other,  # other
    )


async def _written(path: Path, rows: list[tuple[Any, ...]], batched: bool) -> list[tuple[Any, ...]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(LOGS.create)
            if batched:
                await insert_logs(conn, "sqlite", insert_logs_sql("sqlite"), rows)
            elif rows:
                await conn.exec_driver_sql(insert_logs_sql("sqlite"), rows)
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT * FROM logs ORDER BY id"))
            types = await conn.execute(
                text("SELECT typeof(is_stream), typeof(quota), typeof(other) FROM logs ORDER BY id")
            )
            return [tuple(r) for r in result.all()] + [tuple(r) for r in types.all()]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 51, 52, 53, 60, 61, 104, 500])
async def test_multi_row_inserts_write_the_one_row_inserts_rows(tmp_path: Path, count: int) -> None:
    rows = [_row(i) for i in range(count)]
    one = await _written(tmp_path / "one.db", rows, batched=False)
    batched = await _written(tmp_path / "batched.db", rows, batched=True)
    assert batched == one
    assert len(one) == 2 * count


def test_batches_keep_the_rows_in_order_within_sqlites_parameter_limit() -> None:
    rows = [_row(i) for i in range(113)]
    batches = sqlite_log_batches(rows)
    assert [len(sets) for _, sets in batches] == [2, 1, 1]  # 2 x 52, 1 x 8, 1 x 1
    flat = [value for _, sets in batches for values in sets for value in values]
    assert flat == [value for row in rows for value in row]
    for statement, sets in batches:
        assert all(len(values) == statement.count("?") <= 999 for values in sets)
    assert len(LOG_COLUMNS) * 52 <= 999 < len(LOG_COLUMNS) * 53


def test_batches_hold_the_log_type_and_is_stream_as_plain_ints() -> None:
    """An IntEnum or a bool makes the driver look for an adapter (and fail twice) per value."""
    rows = [(*_row(i)[:2], LogType.CONSUME, *_row(i)[3:11], i % 2 == 0, *_row(i)[12:]) for i in range(61)]
    values = [value for _, sets in sqlite_log_batches(rows) for flat in sets for value in flat]
    width = len(LOG_COLUMNS)
    assert [type(v) for v in values[2::width]] == [int] * 61
    assert [type(v) for v in values[11::width]] == [int] * 61
    assert values[2::width] == [2] * 61
    assert values[11::width] == [1 if i % 2 == 0 else 0 for i in range(61)]
    unknown = [(*row[:11], None, *row[12:]) for row in rows[:8]]
    (_, [flat]), *_ = sqlite_log_batches(unknown)
    assert flat[11::width] == (None,) * 8  # a NULL stays NULL
    assert [type(v) for v in flat[2::width]] == [int] * 8
