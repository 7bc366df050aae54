"""New API's type-5 error log (``ERROR_LOG_ENABLED``) of a request that failed: no charge, the
masked message. Written by the relay pipeline and by a Realtime session that could not start."""

from __future__ import annotations

import logging
import time

import orjson

from newapi.billing.ledger import Debit
from newapi.core.constants import LogType
from newapi.core.errors import GatewayError
from newapi.relay.call import Call
from newapi.runtime import Runtime

log = logging.getLogger(__name__)


async def error_log(runtime: Runtime, call: Call, error: GatewayError, *, is_stream: bool) -> None:
    """Record ``error`` for ``call`` when error logs are on and the caller is known."""
    if not runtime.settings.error_log_enabled or call.user is None:
        return
    other = {"status_code": error.status, "error_code": error.code, "request_path": call.path}
    debit = Debit(
        request_id=call.request_id,
        user_id=call.user.id,
        username=call.user.username,
        token_id=call.token.id if call.token is not None else 0,
        token_name=call.token.name if call.token is not None else "",
        channel_id=call.channel.id if call.channel is not None else 0,
        model_name=call.model,
        group=call.group,
        quota=0,
        prompt_tokens=0,
        completion_tokens=0,
        use_time=int(time.monotonic() - call.started),
        is_stream=is_stream,
        content=error.message,
        other=orjson.dumps(other).decode(),
        created_at=call.created_at,
        log_type=LogType.ERROR,
    )
    try:
        await runtime.ledger.record_only(debit)
    except Exception:
        log.exception("error log for %s failed", call.request_id)
