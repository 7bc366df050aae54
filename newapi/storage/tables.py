"""New API's tables, with New API's names, column types and defaults.

The column types follow what GORM's AutoMigrate creates, so that a database made
by New API is read unchanged and a database made by us can be handed back to New
API: Go ``int`` is ``bigint`` on PostgreSQL and ``integer`` on SQLite, Go strings
without a size are ``text``, ``bool`` is ``boolean`` (``numeric`` on SQLite).
Our own additions live in separate tables (see ``ledger.py``), never as new
columns on these.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Go int: bigint on PostgreSQL/MySQL, integer on SQLite (needed for rowid primary keys).
GoInt = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(Text, unique=True, index=True)
    password: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str | None] = mapped_column(Text, index=True)
    role: Mapped[int | None] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[int | None] = mapped_column(Integer, default=1, server_default="1")
    email: Mapped[str | None] = mapped_column(Text, index=True, default="")
    github_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    discord_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    oidc_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    wechat_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    telegram_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    access_token: Mapped[str | None] = mapped_column(String(32).with_variant(String(32), "postgresql"))
    quota: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    used_quota: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    request_count: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    group: Mapped[str | None] = mapped_column(String(64), default="default", server_default="default")
    aff_code: Mapped[str | None] = mapped_column(String(32))
    aff_count: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    aff_quota: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    aff_history: Mapped[int | None] = mapped_column(Integer, default=0, server_default="0")
    inviter_id: Mapped[int | None] = mapped_column(Integer, index=True, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    linux_do_id: Mapped[str | None] = mapped_column(Text, index=True, default="")
    setting: Mapped[str | None] = mapped_column(Text, default="")
    remark: Mapped[str | None] = mapped_column(String(255), default="")
    stripe_customer: Mapped[str | None] = mapped_column(String(64), index=True, default="")
    created_at: Mapped[int | None] = mapped_column(BigInteger, default=0)
    last_login_at: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0")
    auth_version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1, server_default="1")

    __table_args__ = (
        Index("idx_users_access_token", "access_token", unique=True),
        Index("idx_users_aff_code", "aff_code", unique=True),
    )


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt, index=True)
    key: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, index=True, default="")
    created_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    accessed_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    expired_time: Mapped[int | None] = mapped_column(BigInteger, default=-1, server_default="-1")
    remain_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    unlimited_quota: Mapped[bool | None] = mapped_column(Boolean, default=False)
    model_limits_enabled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    model_limits: Mapped[str | None] = mapped_column(Text, default="")
    allow_ips: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    used_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    group: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    cross_group_retry: Mapped[bool | None] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    __table_args__ = (Index("idx_tokens_key", "key", unique=True),)


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    type: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    key: Mapped[str] = mapped_column(Text, nullable=False)
    openai_organization: Mapped[str | None] = mapped_column(Text)
    test_model: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, index=True, default="")
    weight: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0")
    created_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    test_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    response_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    base_url: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    other: Mapped[str | None] = mapped_column(Text, default="")
    balance: Mapped[float | None] = mapped_column(Float, default=0)
    balance_updated_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    models: Mapped[str | None] = mapped_column(Text, default="")
    group: Mapped[str | None] = mapped_column(String(64), default="default", server_default="default")
    used_quota: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0")
    model_mapping: Mapped[str | None] = mapped_column(Text)
    status_code_mapping: Mapped[str | None] = mapped_column(String(1024), default="", server_default="")
    priority: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0")
    auto_ban: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    other_info: Mapped[str | None] = mapped_column(Text, default="")
    tag: Mapped[str | None] = mapped_column(Text, index=True)
    setting: Mapped[str | None] = mapped_column(Text)
    param_override: Mapped[str | None] = mapped_column(Text)
    header_override: Mapped[str | None] = mapped_column(Text)
    remark: Mapped[str | None] = mapped_column(String(255))
    channel_info: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[str | None] = mapped_column(Text)


class Ability(Base):
    __tablename__ = "abilities"

    group: Mapped[str] = mapped_column(String(64), primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String(255), primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=False, index=True)
    enabled: Mapped[bool | None] = mapped_column(Boolean, default=True)
    priority: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0", index=True)
    weight: Mapped[int | None] = mapped_column(BigInteger, default=0, server_default="0", index=True)
    tag: Mapped[str | None] = mapped_column(Text, index=True)


class Log(Base):
    __tablename__ = "logs"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt, index=True)
    created_at: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[int | None] = mapped_column(GoInt)
    content: Mapped[str | None] = mapped_column(Text, default="")
    username: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    token_name: Mapped[str | None] = mapped_column(Text, index=True, default="", server_default="")
    model_name: Mapped[str | None] = mapped_column(Text, index=True, default="", server_default="")
    quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    prompt_tokens: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    completion_tokens: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    use_time: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    is_stream: Mapped[bool | None] = mapped_column(Boolean, default=False)
    channel_id: Mapped[int | None] = mapped_column(GoInt, index=True)
    token_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0", index=True)
    group: Mapped[str | None] = mapped_column(Text, index=True, default="")
    ip: Mapped[str | None] = mapped_column(Text, index=True, default="", server_default="")
    request_id: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    upstream_request_id: Mapped[str | None] = mapped_column(String(128), default="", server_default="")
    other: Mapped[str | None] = mapped_column(Text, default="")

    __table_args__ = (
        Index("idx_created_at_id", "id", "created_at"),
        Index("idx_created_at_type", "created_at", "type"),
        Index("index_username_model_name", "model_name", "username"),
        Index("idx_user_id_id", "user_id", "id"),
        Index("idx_logs_request_id", "request_id"),
    )


class Option(Base):
    __tablename__ = "options"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class Setup(Base):
    __tablename__ = "setups"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    initialized_at: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    key: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, index=True, default="")
    quota: Mapped[int | None] = mapped_column(GoInt, default=100, server_default="100")
    created_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    redeemed_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    used_user_id: Mapped[int | None] = mapped_column(GoInt, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    expired_time: Mapped[int | None] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("idx_redemptions_key", "key", unique=True),)


class TopUp(Base):
    __tablename__ = "top_ups"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt, index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=0)
    money: Mapped[float | None] = mapped_column(Float, default=0)
    trade_no: Mapped[str | None] = mapped_column(String(255))
    payment_method: Mapped[str | None] = mapped_column(String(50), default="")
    create_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    complete_time: Mapped[int | None] = mapped_column(BigInteger, default=0)
    status: Mapped[str | None] = mapped_column(Text, default="")

    __table_args__ = (Index("idx_top_ups_trade_no", "trade_no", unique=True),)


class QuotaData(Base):
    __tablename__ = "quota_data"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt, index=True)
    username: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    model_name: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[int | None] = mapped_column(BigInteger, index=True)
    token_used: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    count: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")

    __table_args__ = (Index("idx_qdt_model_user_name", "model_name", "username"),)
