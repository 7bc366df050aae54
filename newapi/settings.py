"""Process settings, read once from New API's environment variable names.

This is the only module that reads ``os.environ``. Everything else receives a
frozen :class:`Settings` (or calls :func:`get_settings`, which reads once and
caches). Our own additions use the ``NEWAPI_`` prefix.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any

from newapi.adaptors.openai.compat import ALI_CLAUDE_MODELS, ali_claude_models

_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})


class SettingsError(ValueError):
    """An environment variable has a value we cannot use."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in _TRUE


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


SERVERS = ("http1", "granian")


def _server(env: Mapping[str, str]) -> str:
    value = (env.get("NEWAPI_SERVER") or "http1").strip().lower()
    if value not in SERVERS:
        raise SettingsError(f"NEWAPI_SERVER must be one of {', '.join(SERVERS)}, not {value!r}")
    return value


def _str(env: Mapping[str, str], name: str, default: str = "") -> str:
    raw = env.get(name)
    return default if raw is None else raw.strip()


# SESSION_SECRET values copied from New API's and our own docs and examples, and
# the usual placeholders: anyone can forge a session cookie signed with one.
EXAMPLE_SECRETS = frozenset(
    {
        "random_string",
        "123456",
        "12345678",
        "secret",
        "your_secret",
        "your-secret",
        "your_secret_key",
        "your-secret-key",
        "your_session_secret",
        "your-session-secret",
        "session_secret",
        "changeme",
        "change_me",
        "change-me",
        "password",
        "new-api",
        "newapi",
        "one-api",
    }
)
MIN_SECRET_BYTES = 16


def secret_weakness(secret: str) -> str:
    """Why ``secret`` is unsafe to sign sessions with, or "" when it is fine."""
    if secret.lower() in EXAMPLE_SECRETS:
        return "is a well-known example value"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return ""


def extensions_disabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``NEWAPI_NO_EXTENSIONS`` forces the pure-Python twins."""
    return _flag(os.environ if env is None else env, "NEWAPI_NO_EXTENSIONS", False)


def data_dir_from_env(env: Mapping[str, str] | None = None) -> str:
    """``NEWAPI_DATA_DIR`` as it is now (the token tables' cache is found before settings load)."""
    return _str(os.environ if env is None else env, "NEWAPI_DATA_DIR")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs from its environment, frozen after load."""

    port: int = 3000
    host: str = "0.0.0.0"  # noqa: S104 - a server binds all interfaces by default, like New API
    workers: int = 0  # 0 = one per core
    sql_dsn: str = ""
    log_sql_dsn: str = ""
    sqlite_path: str = "one-api.db"
    sql_max_open_conns: int = 1000
    sql_max_idle_conns: int = 100
    sql_max_lifetime: int = 60
    redis_conn_string: str = ""
    redis_pool_size: int = 10
    session_secret: str = ""
    session_secret_generated: bool = False
    crypto_secret: str = ""
    session_cookie_secure: bool = False
    memory_cache_enabled: bool = False
    sync_frequency: int = 60
    node_type: str = "master"
    node_name: str = ""
    # Seconds a slave waits at start for a master to bring the schema up to date (ours).
    schema_wait: float = 300.0
    batch_update_enabled: bool = False
    batch_update_interval: int = 5
    streaming_timeout: int = 300
    # New API's DIFY_DEBUG: Dify's workflow and node events reach the client as reasoning.
    dify_debug: bool = True
    # Where Codex channels refresh their ChatGPT access token (ours; tests point it at the mock).
    codex_token_url: str = "https://auth.openai.com/oauth/token"
    relay_timeout: int = 0
    stream_scanner_max_buffer_mb: int = 128
    max_request_body_mb: int = 128
    anonymous_request_body_limit_kb: int = 512
    # Slow-client limits (ours): seconds to send a request head, seconds a body may pause,
    # and connections one worker serves at once (more wait in the listen backlog).
    client_header_timeout: int = 30
    client_body_timeout: int = 30
    max_connections: int = 8192
    # Which HTTP server runs the workers: newapi's own ("http1", newapi/http1) or Granian.
    server: str = "http1"
    max_file_download_mb: int = 64
    force_stream_option: bool = True
    count_token: bool = True
    get_media_token: bool = True
    get_media_token_not_stream: bool = False
    relay_max_idle_conns: int = 500
    relay_max_idle_conns_per_host: int = 100
    relay_idle_conn_timeout: int = 90
    global_api_rate_limit_enable: bool = True
    global_api_rate_limit: int = 360
    global_api_rate_limit_duration: int = 180
    global_web_rate_limit_enable: bool = True
    global_web_rate_limit: int = 120
    global_web_rate_limit_duration: int = 180
    critical_rate_limit_enable: bool = True
    critical_rate_limit: int = 20
    critical_rate_limit_duration: int = 1200
    search_rate_limit_enable: bool = True
    search_rate_limit: int = 10
    search_rate_limit_duration: int = 60
    channel_test_frequency: int = 0
    channel_update_frequency: int = 0
    polling_interval: int = 0
    error_log_enabled: bool = False
    generate_default_token: bool = False
    azure_default_api_version: str = "2025-04-01-preview"
    #: ALI_ANTHROPIC_MESSAGES_MODELS: parts of DashScope model names whose Claude clients go to
    #: its Anthropic API as they are (New API's default list; compat.ali_claude_models)
    ali_claude_models: tuple[str, ...] = ALI_CLAUDE_MODELS
    #: Realtime WebSocket sessions: closed after this long with no frame either way (New API's
    #: 90 s read deadline), and after this long in all
    realtime_idle_seconds: int = 90
    realtime_max_session_seconds: int = 3600
    gemini_safety_setting: str = "BLOCK_NONE"
    trusted_proxies: str = ""
    shutdown_timeout_seconds: int = 120
    notify_limit_count: int = 2
    notification_limit_duration_minute: int = 10
    debug: bool = False
    tz: str = ""
    # Ours.
    data_dir: str = ""
    redis_prefix: str = ""
    ledger_hold_ttl: float = 3600.0
    ledger_overdraft: int = 0
    ledger_max_backlog: int = 1_000_000
    ledger_credit_requests: int = 64
    web_dist: str = ""
    allow_private_urls: bool = False
    no_extensions: bool = False
    access_log: bool = False
    metrics_token: str = ""  # GET /metrics requires it as a bearer token ("" = open)

    @property
    def is_master(self) -> bool:
        return self.node_type != "slave"

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_conn_string)

    @property
    def memory_cache(self) -> bool:
        # New API: configuring Redis forces the in-memory channel cache on.
        return self.memory_cache_enabled or self.uses_redis

    @property
    def max_request_body_bytes(self) -> int:
        mb = self.max_request_body_mb if self.max_request_body_mb > 0 else 32
        return mb * 1024 * 1024

    @property
    def stream_line_cap_bytes(self) -> int:
        mb = self.stream_scanner_max_buffer_mb if self.stream_scanner_max_buffer_mb > 0 else 128
        return mb * 1024 * 1024

    def check_multi_node(self) -> None:
        """Refuse a shared (multi-node) setup whose nodes would disagree on secrets, or a weak one.

        With Redis or ``NODE_TYPE=slave`` several nodes share state: a generated
        SESSION_SECRET would log users out between nodes, and a short or example
        one lets anyone who can reach any node forge sessions. CRYPTO_SECRET
        defaults to SESSION_SECRET, as in New API.
        """
        if not (self.uses_redis or not self.is_master):
            return
        if self.session_secret_generated:
            raise SettingsError(
                "a multi-node setup (Redis or NODE_TYPE=slave) needs SESSION_SECRET "
                "set to the same value on every node"
            )
        weakness = secret_weakness(self.session_secret)
        if weakness:
            raise SettingsError(
                f"SESSION_SECRET {weakness}: a multi-node setup (Redis or NODE_TYPE=slave) needs "
                f"a random secret of at least {MIN_SECRET_BYTES} bytes, the same on every node"
            )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by the CLI flags and tests)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from an environment mapping (default: the process's)."""
    env = os.environ if env is None else env
    session_secret = _str(env, "SESSION_SECRET")
    if session_secret == "random_string":
        raise SettingsError("SESSION_SECRET must not be the example value 'random_string'")
    generated = not session_secret
    if generated:
        session_secret = secrets.token_hex(32)
    crypto_secret = _str(env, "CRYPTO_SECRET") or session_secret
    sqlite_path = _str(env, "SQLITE_PATH", "one-api.db")
    # New API appends SQLite driver parameters to the path; we only want the file.
    sqlite_path = sqlite_path.split("?", 1)[0] or "one-api.db"
    node_type = _str(env, "NODE_TYPE", "master").lower() or "master"
    return Settings(
        port=_int(env, "PORT", 3000),
        host=_str(env, "NEWAPI_HOST", "0.0.0.0"),  # noqa: S104
        workers=_int(env, "NEWAPI_WORKERS", 0),
        sql_dsn=_str(env, "SQL_DSN"),
        log_sql_dsn=_str(env, "LOG_SQL_DSN"),
        sqlite_path=sqlite_path,
        sql_max_open_conns=_int(env, "SQL_MAX_OPEN_CONNS", 1000),
        sql_max_idle_conns=_int(env, "SQL_MAX_IDLE_CONNS", 100),
        sql_max_lifetime=_int(env, "SQL_MAX_LIFETIME", 60),
        redis_conn_string=_str(env, "REDIS_CONN_STRING"),
        redis_pool_size=_int(env, "REDIS_POOL_SIZE", 10),
        session_secret=session_secret,
        session_secret_generated=generated or _flag(env, "NEWAPI_SESSION_SECRET_GENERATED", False),
        crypto_secret=crypto_secret,
        session_cookie_secure=_flag(env, "SESSION_COOKIE_SECURE", False),
        memory_cache_enabled=_flag(env, "MEMORY_CACHE_ENABLED", False),
        sync_frequency=max(1, _int(env, "SYNC_FREQUENCY", 60)),
        node_type=node_type,
        schema_wait=max(0.0, _float(env, "NEWAPI_SCHEMA_WAIT", 300.0)),
        node_name=_str(env, "NODE_NAME") or socket.gethostname(),
        batch_update_enabled=_flag(env, "BATCH_UPDATE_ENABLED", False),
        batch_update_interval=max(1, _int(env, "BATCH_UPDATE_INTERVAL", 5)),
        streaming_timeout=_int(env, "STREAMING_TIMEOUT", 300),
        dify_debug=_flag(env, "DIFY_DEBUG", True),
        codex_token_url=_str(env, "NEWAPI_CODEX_TOKEN_URL") or "https://auth.openai.com/oauth/token",
        relay_timeout=_int(env, "RELAY_TIMEOUT", 0),
        stream_scanner_max_buffer_mb=_int(env, "STREAM_SCANNER_MAX_BUFFER_MB", 128),
        max_request_body_mb=_int(env, "MAX_REQUEST_BODY_MB", 128),
        anonymous_request_body_limit_kb=_int(env, "ANONYMOUS_REQUEST_BODY_LIMIT_KB", 512),
        client_header_timeout=max(1, _int(env, "NEWAPI_CLIENT_HEADER_TIMEOUT", 30)),
        client_body_timeout=max(1, _int(env, "NEWAPI_CLIENT_BODY_TIMEOUT", 30)),
        max_connections=max(16, _int(env, "NEWAPI_MAX_CONNECTIONS", 8192)),
        server=_server(env),
        max_file_download_mb=_int(env, "MAX_FILE_DOWNLOAD_MB", 64),
        force_stream_option=_flag(env, "FORCE_STREAM_OPTION", True),
        count_token=_flag(env, "CountToken", True),
        get_media_token=_flag(env, "GET_MEDIA_TOKEN", True),
        get_media_token_not_stream=_flag(env, "GET_MEDIA_TOKEN_NOT_STREAM", False),
        relay_max_idle_conns=_int(env, "RELAY_MAX_IDLE_CONNS", 500),
        relay_max_idle_conns_per_host=_int(env, "RELAY_MAX_IDLE_CONNS_PER_HOST", 100),
        relay_idle_conn_timeout=_int(env, "RELAY_IDLE_CONN_TIMEOUT", 90),
        global_api_rate_limit_enable=_flag(env, "GLOBAL_API_RATE_LIMIT_ENABLE", True),
        global_api_rate_limit=_int(env, "GLOBAL_API_RATE_LIMIT", 360),
        global_api_rate_limit_duration=_int(env, "GLOBAL_API_RATE_LIMIT_DURATION", 180),
        global_web_rate_limit_enable=_flag(env, "GLOBAL_WEB_RATE_LIMIT_ENABLE", True),
        global_web_rate_limit=_int(env, "GLOBAL_WEB_RATE_LIMIT", 120),
        global_web_rate_limit_duration=_int(env, "GLOBAL_WEB_RATE_LIMIT_DURATION", 180),
        critical_rate_limit_enable=_flag(env, "CRITICAL_RATE_LIMIT_ENABLE", True),
        critical_rate_limit=_int(env, "CRITICAL_RATE_LIMIT", 20),
        critical_rate_limit_duration=_int(env, "CRITICAL_RATE_LIMIT_DURATION", 1200),
        search_rate_limit_enable=_flag(env, "SEARCH_RATE_LIMIT_ENABLE", True),
        search_rate_limit=_int(env, "SEARCH_RATE_LIMIT", 10),
        search_rate_limit_duration=_int(env, "SEARCH_RATE_LIMIT_DURATION", 60),
        channel_test_frequency=_int(env, "CHANNEL_TEST_FREQUENCY", 0),
        channel_update_frequency=_int(env, "CHANNEL_UPDATE_FREQUENCY", 0),
        polling_interval=_int(env, "POLLING_INTERVAL", 0),
        error_log_enabled=_flag(env, "ERROR_LOG_ENABLED", False),
        generate_default_token=_flag(env, "GENERATE_DEFAULT_TOKEN", False),
        azure_default_api_version=_str(env, "AZURE_DEFAULT_API_VERSION", "2025-04-01-preview"),
        ali_claude_models=ali_claude_models(_str(env, "ALI_ANTHROPIC_MESSAGES_MODELS")),
        realtime_idle_seconds=_int(env, "NEWAPI_REALTIME_IDLE_SECONDS", 90),
        realtime_max_session_seconds=_int(env, "NEWAPI_REALTIME_MAX_SESSION_SECONDS", 3600),
        gemini_safety_setting=_str(env, "GEMINI_SAFETY_SETTING", "BLOCK_NONE"),
        trusted_proxies=_str(env, "TRUSTED_PROXIES"),
        shutdown_timeout_seconds=_int(env, "SHUTDOWN_TIMEOUT_SECONDS", 120),
        notify_limit_count=_int(env, "NOTIFY_LIMIT_COUNT", 2),
        notification_limit_duration_minute=_int(env, "NOTIFICATION_LIMIT_DURATION_MINUTE", 10),
        debug=_flag(env, "DEBUG", False),
        tz=_str(env, "TZ"),
        data_dir=_str(env, "NEWAPI_DATA_DIR"),
        redis_prefix=_str(env, "NEWAPI_REDIS_PREFIX"),
        ledger_hold_ttl=_float(env, "NEWAPI_LEDGER_HOLD_TTL", 3600.0),
        ledger_overdraft=max(0, _int(env, "NEWAPI_LEDGER_OVERDRAFT", 0)),
        ledger_max_backlog=max(1, _int(env, "NEWAPI_LEDGER_MAX_BACKLOG", 1_000_000)),
        ledger_credit_requests=max(0, _int(env, "NEWAPI_LEDGER_CREDIT_REQUESTS", 64)),
        web_dist=_str(env, "NEWAPI_WEB_DIST"),
        allow_private_urls=_flag(env, "NEWAPI_ALLOW_PRIVATE_URLS", False),
        no_extensions=extensions_disabled(env),
        access_log=_flag(env, "NEWAPI_ACCESS_LOG", False),
        metrics_token=_str(env, "NEWAPI_METRICS_TOKEN"),
    )


def share_generated_secret() -> None:
    """Put one random SESSION_SECRET in the environment before workers start.

    Each worker process loads settings on its own; without this, every worker
    would invent a different secret and reject the others' session cookies.
    """
    if not os.environ.get("SESSION_SECRET", "").strip():
        os.environ["SESSION_SECRET"] = secrets.token_hex(32)
        os.environ["NEWAPI_SESSION_SECRET_GENERATED"] = "1"


def apply_overrides(values: Mapping[str, str]) -> None:
    """Export CLI flags as their environment variables, for worker processes."""
    for name, value in values.items():
        os.environ[name] = value


def prometheus_multiproc_dir() -> str:
    """prometheus-client's multiprocess directory, which ``newapi serve`` exports after the
    settings were read (a forked worker inherits the parent's cached settings, not this)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first call."""
    return load_settings()
