"""Our own tables for the quota ledger (additive: New API never reads them)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from newapi.storage.tables import Base
from newapi.storage.types import GoInt


class QuotaLease(Base):
    """Quota a worker has taken from a balance and not yet accounted for.

    A worker takes quota in advance (reservations and spare credit), accounts
    for it at each flush, and keeps here what is still outstanding, so a worker
    that dies has its leases refunded by the sweeper instead of losing them.
    """

    __tablename__ = "newapi_quota_leases"

    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "user" or "token"
    ident: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=False)
    amount: Mapped[int] = mapped_column(GoInt, nullable=False, default=0)
    updated_at: Mapped[int] = mapped_column(GoInt, nullable=False, default=0)


class FlushBatch(Base):
    """One applied flush: its id makes a retried commit a no-op."""

    __tablename__ = "newapi_flush_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[int] = mapped_column(GoInt, nullable=False, default=0)


class LedgerEntry(Base):
    """One applied stream entry of the Redis ledger (a debit's request id, or an adjustment's id).

    The flusher inserts these in the same transaction as the debits, so an entry
    delivered twice (a crash before the acknowledgement) is applied once.
    """

    __tablename__ = "newapi_ledger_entries"

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    # When it was applied; the flusher prunes ids no stream entry can bring back (0004).
    created_at: Mapped[int] = mapped_column(GoInt, nullable=False, default=0, index=True)


class LogOutbox(Base):
    """Log rows of the embedded ledger waiting to be copied to the separate log database.

    Used only with ``LOG_SQL_DSN``: a flush commits its debits and their log rows here
    in one transaction, then copies the rows to the log database (idempotently per
    request id) and deletes them (see :mod:`newapi.billing.log_sink`).
    """

    __tablename__ = "newapi_log_outbox"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    # The log row in LOG_COLUMNS order, as a JSON array.
    payload: Mapped[str] = mapped_column(Text, nullable=False)
