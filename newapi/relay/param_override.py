"""A channel's param_override operations on one attempt's upstream body (New API's
ApplyParamOverrideWithRelayInfo): the request's context, the errors they end in, the audit.

Only channels whose override has operations (or audited legacy keys) pay anything here: the
body is decoded once more, edited and encoded once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from newapi.adaptors import override
from newapi.core.errors import ClientError, InternalError, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.http.headers import RequestHeaders
from newapi.relay.call import Call

if TYPE_CHECKING:
    from newapi.relay.outgoing_base import Outgoing


def apply_operations(
    call: Call, channel: ChannelInfo, client: RequestHeaders, raw: bytes, out: Outgoing
) -> bytes:
    """``raw`` with the channel's operations applied; sets ``call.override_audit``."""
    out.overridden = True
    if not channel.param_override:
        call.override_audit = ()
        return raw
    plan = override.compiled(channel.param_override)
    call.override_audit = plan.legacy_audit
    if not plan.operations and not plan.error:
        return raw
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # not a JSON body (New API edits JSON bodies only)
    ctx = override.context(
        model=call.upstream_model,
        original_model=call.model,
        request_path=call.path,
        client_headers=client.raw,
        header_override=channel.header_override,
        retry_index=max(len(call.tried) - 1, 0),
    )
    try:
        result = override.run(plan, body, ctx)
    except override.ReturnError as exc:
        call.override_audit = (*plan.legacy_audit, *_return_audit(plan))
        kind = ClientError if exc.skip_retry else UpstreamError
        raise kind(exc.message, code=exc.code, status=exc.status, error_type=exc.kind) from None
    except override.OverrideError as exc:
        # The channel's configuration is wrong, not the client's request: New API's
        # channel:param_override_invalid, not retried.
        raise InternalError(str(exc), code="channel:param_override_invalid") from None
    call.override_audit = tuple(result.audit)
    headers = override.header_override(result)
    if headers is not None:
        out.header_override = headers
    return orjson.dumps(result.body)


def _return_audit(plan: override.Compiled) -> tuple[str, ...]:
    lines = (
        override.audit_line("return_error", op.path, value=op.value)
        for op in plan.operations
        if op.mode == "return_error"
    )
    return tuple(line for line in lines if line)
