"""New API's tables, with New API's names, column types, defaults and index names.

Everything here mirrors what GORM's AutoMigrate creates for New API's models
(see ``types.py`` for the type mapping): a database made by New API is read
unchanged, and one made by us can be handed back to New API. Index names follow
GORM's rule ``idx_<table>_<snake of the Go field name>``. Our own additions live
in separate tables, never as new columns on these.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CHAR, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from newapi.storage.types import GoBool, GoFloat, GoInt, GoText, GoTime, JsonText, gorm_mysql_strings, sized


class Base(DeclarativeBase):
    pass


def _ix(table: str, *columns: str, name: str | None = None, unique: bool = False) -> Index:
    return Index(name or f"idx_{table}_{columns[0]}", *columns, unique=unique)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str | None] = mapped_column(Text, default="")
    role: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    email: Mapped[str | None] = mapped_column(Text, default="")
    github_id: Mapped[str | None] = mapped_column(Text, default="")
    discord_id: Mapped[str | None] = mapped_column(Text, default="")
    oidc_id: Mapped[str | None] = mapped_column(Text, default="")
    wechat_id: Mapped[str | None] = mapped_column(Text, default="")
    telegram_id: Mapped[str | None] = mapped_column(Text, default="")
    access_token: Mapped[str | None] = mapped_column(CHAR(32))
    quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    used_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    request_count: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    group: Mapped[str | None] = mapped_column(String(64), default="default", server_default="default")
    aff_code: Mapped[str | None] = mapped_column(String(32))
    aff_count: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    aff_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    aff_history: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    inviter_id: Mapped[int | None] = mapped_column(GoInt, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(GoTime)
    linux_do_id: Mapped[str | None] = mapped_column(Text, default="")
    setting: Mapped[str | None] = mapped_column(GoText, default="")
    remark: Mapped[str | None] = mapped_column(String(255), default="")
    stripe_customer: Mapped[str | None] = mapped_column(String(64), default="")
    created_at: Mapped[int | None] = mapped_column(GoInt, default=0)
    last_login_at: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    auth_version: Mapped[int] = mapped_column(GoInt, nullable=False, default=1, server_default="1")

    __table_args__ = (
        UniqueConstraint("username", name="users_username_key"),
        _ix("users", "username"),
        _ix("users", "display_name"),
        _ix("users", "email"),
        _ix("users", "github_id", name="idx_users_git_hub_id"),
        _ix("users", "discord_id"),
        _ix("users", "oidc_id"),
        _ix("users", "wechat_id", name="idx_users_we_chat_id"),
        _ix("users", "telegram_id"),
        _ix("users", "access_token", unique=True),
        _ix("users", "aff_code", unique=True),
        _ix("users", "inviter_id"),
        _ix("users", "deleted_at"),
        _ix("users", "linux_do_id"),
        _ix("users", "stripe_customer"),
    )


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    key: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, default="")
    created_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    accessed_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    expired_time: Mapped[int | None] = mapped_column(GoInt, default=-1, server_default="-1")
    remain_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    unlimited_quota: Mapped[bool | None] = mapped_column(GoBool, default=False)
    model_limits_enabled: Mapped[bool | None] = mapped_column(GoBool, default=False)
    model_limits: Mapped[str | None] = mapped_column(GoText, default="")
    allow_ips: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    used_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    group: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    cross_group_retry: Mapped[bool | None] = mapped_column(GoBool, default=False)
    auto_groups: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(GoTime)

    __table_args__ = (
        _ix("tokens", "user_id"),
        _ix("tokens", "key", unique=True),
        _ix("tokens", "name"),
        _ix("tokens", "deleted_at"),
    )


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    type: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    key: Mapped[str] = mapped_column(Text, nullable=False)
    # GORM derives the column name from the Go field OpenAIOrganization.
    openai_organization: Mapped[str | None] = mapped_column("open_ai_organization", Text)
    test_model: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, default="")
    weight: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    created_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    test_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    response_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    base_url: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    other: Mapped[str | None] = mapped_column(Text, default="")
    balance: Mapped[float | None] = mapped_column(GoFloat, default=0)
    balance_updated_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    models: Mapped[str | None] = mapped_column(Text, default="")
    group: Mapped[str | None] = mapped_column(String(64), default="default", server_default="default")
    used_quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    model_mapping: Mapped[str | None] = mapped_column(GoText)
    status_code_mapping: Mapped[str | None] = mapped_column(String(1024), default="", server_default="")
    priority: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    auto_ban: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    other_info: Mapped[str | None] = mapped_column(Text, default="")
    tag: Mapped[str | None] = mapped_column(Text)
    setting: Mapped[str | None] = mapped_column(GoText)
    param_override: Mapped[str | None] = mapped_column(GoText)
    header_override: Mapped[str | None] = mapped_column(GoText)
    remark: Mapped[str | None] = mapped_column(String(255))
    channel_info: Mapped[str | None] = mapped_column(JsonText)
    settings: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (_ix("channels", "name"), _ix("channels", "tag"))


class Ability(Base):
    __tablename__ = "abilities"

    group: Mapped[str] = mapped_column(String(64), primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String(255), primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=False)
    enabled: Mapped[bool | None] = mapped_column(GoBool, default=True)
    priority: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    weight: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    tag: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        _ix("abilities", "channel_id"),
        _ix("abilities", "priority"),
        _ix("abilities", "weight"),
        _ix("abilities", "tag"),
    )


class Log(Base):
    __tablename__ = "logs"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    created_at: Mapped[int | None] = mapped_column(GoInt)
    type: Mapped[int | None] = mapped_column(GoInt)
    content: Mapped[str | None] = mapped_column(Text, default="")
    username: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    token_name: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    model_name: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    prompt_tokens: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    completion_tokens: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    use_time: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    is_stream: Mapped[bool | None] = mapped_column(GoBool, default=False)
    channel_id: Mapped[int | None] = mapped_column(GoInt)
    # Read-only in New API (filled by joins) but present as a column.
    channel_name: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    group: Mapped[str | None] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(Text, default="", server_default="")
    request_id: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    upstream_request_id: Mapped[str | None] = mapped_column(String(128), default="", server_default="")
    other: Mapped[str | None] = mapped_column(Text, default="")

    __table_args__ = (
        Index("idx_created_at_id", "created_at", "id"),
        Index("idx_user_id_id", "user_id", "id"),
        _ix("logs", "user_id"),
        Index("idx_created_at_type", "created_at", "type"),
        _ix("logs", "username"),
        Index("index_username_model_name", "model_name", "username"),
        _ix("logs", "token_name"),
        _ix("logs", "model_name"),
        _ix("logs", "channel_id"),
        _ix("logs", "token_id"),
        _ix("logs", "group"),
        _ix("logs", "ip"),
        _ix("logs", "request_id"),
        _ix("logs", "upstream_request_id"),
    )


class Option(Base):
    __tablename__ = "options"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class Setup(Base):
    __tablename__ = "setups"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    initialized_at: Mapped[int] = mapped_column(GoInt, nullable=False, default=0)


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    key: Mapped[str | None] = mapped_column(CHAR(32))
    status: Mapped[int | None] = mapped_column(GoInt, default=1, server_default="1")
    name: Mapped[str | None] = mapped_column(Text, default="")
    quota: Mapped[int | None] = mapped_column(GoInt, default=100, server_default="100")
    created_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    redeemed_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    used_user_id: Mapped[int | None] = mapped_column(GoInt, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(GoTime)
    expired_time: Mapped[int | None] = mapped_column(GoInt, default=0)

    __table_args__ = (
        _ix("redemptions", "key", unique=True),
        _ix("redemptions", "name"),
        _ix("redemptions", "used_user_id"),
        _ix("redemptions", "deleted_at"),
    )


class TopUp(Base):
    __tablename__ = "top_ups"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    amount: Mapped[int | None] = mapped_column(GoInt, default=0)
    money: Mapped[float | None] = mapped_column(GoFloat, default=0)
    trade_no: Mapped[str | None] = mapped_column(String(255))
    payment_method: Mapped[str | None] = mapped_column(String(50), default="")
    payment_provider: Mapped[str | None] = mapped_column(String(50), default="", server_default="")
    create_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    complete_time: Mapped[int | None] = mapped_column(GoInt, default=0)
    status: Mapped[str | None] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("trade_no", name="top_ups_trade_no_key"),
        _ix("top_ups", "user_id"),
        _ix("top_ups", "trade_no"),
    )


class QuotaData(Base):
    __tablename__ = "quota_data"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    username: Mapped[str | None] = mapped_column(sized(64), default="", server_default="")
    model_name: Mapped[str | None] = mapped_column(sized(64), default="", server_default="")
    created_at: Mapped[int | None] = mapped_column(GoInt)
    use_group: Mapped[str | None] = mapped_column(sized(64), default="", server_default="")
    token_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    channel_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    node_name: Mapped[str | None] = mapped_column(sized(64), default="", server_default="")
    token_used: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    count: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    quota: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")

    __table_args__ = (
        _ix("quota_data", "user_id"),
        Index("idx_qdt_model_user_name", "model_name", "username"),
        Index("idx_qdt_created_at", "created_at"),
        _ix("quota_data", "use_group"),
        _ix("quota_data", "token_id"),
        _ix("quota_data", "channel_id"),
        _ix("quota_data", "node_name"),
    )


class Midjourney(Base):
    __tablename__ = "midjourneys"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    code: Mapped[int | None] = mapped_column(GoInt)
    user_id: Mapped[int | None] = mapped_column(GoInt)
    action: Mapped[str | None] = mapped_column(String(40))
    mj_id: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str | None] = mapped_column(Text)
    prompt_en: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    submit_time: Mapped[int | None] = mapped_column(GoInt)
    start_time: Mapped[int | None] = mapped_column(GoInt)
    finish_time: Mapped[int | None] = mapped_column(GoInt)
    image_url: Mapped[str | None] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(Text)
    video_urls: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(20))
    progress: Mapped[str | None] = mapped_column(String(30))
    fail_reason: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[int | None] = mapped_column(GoInt)
    quota: Mapped[int | None] = mapped_column(GoInt)
    token_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    billing_channel_id: Mapped[int | None] = mapped_column(GoInt, default=0, server_default="0")
    buttons: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[str | None] = mapped_column(Text)

    __table_args__ = tuple(
        _ix("midjourneys", column)
        for column in (
            "user_id",
            "action",
            "mj_id",
            "submit_time",
            "start_time",
            "finish_time",
            "status",
            "progress",
        )
    )


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(GoInt, primary_key=True, autoincrement=True)
    created_at: Mapped[int | None] = mapped_column(GoInt)
    updated_at: Mapped[int | None] = mapped_column(GoInt)
    task_id: Mapped[str | None] = mapped_column(String(191))
    platform: Mapped[str | None] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(GoInt)
    group: Mapped[str | None] = mapped_column(String(50))
    channel_id: Mapped[int | None] = mapped_column(GoInt)
    quota: Mapped[int | None] = mapped_column(GoInt)
    action: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(20))
    fail_reason: Mapped[str | None] = mapped_column(Text)
    submit_time: Mapped[int | None] = mapped_column(GoInt)
    start_time: Mapped[int | None] = mapped_column(GoInt)
    finish_time: Mapped[int | None] = mapped_column(GoInt)
    progress: Mapped[str | None] = mapped_column(String(20))
    properties: Mapped[str | None] = mapped_column(JsonText)
    private_data: Mapped[str | None] = mapped_column(JsonText)
    data: Mapped[str | None] = mapped_column(JsonText)

    __table_args__ = tuple(
        _ix("tasks", column)
        for column in (
            "created_at",
            "task_id",
            "platform",
            "user_id",
            "channel_id",
            "action",
            "status",
            "submit_time",
            "start_time",
            "finish_time",
            "progress",
        )
    )


# New API's own tables, in creation order (the base migration adopts exactly these).
NEW_API_TABLES = tuple(
    model.__table__
    for model in (
        User,
        Token,
        Channel,
        Ability,
        Log,
        Option,
        Setup,
        Redemption,
        TopUp,
        QuotaData,
        Midjourney,
        Task,
    )
)
for _table in NEW_API_TABLES:
    gorm_mysql_strings(cast(Table, _table))
