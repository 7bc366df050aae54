"""Built-in tool calls billed beside the tokens (New API's ``calculateTextToolCallSurcharge``).

The adaptors count what the upstream did (Responses ``*_call`` output items, Gemini's grounding
with web search, Claude's ``server_tool_use``) into the usage; two rules depend on the request:

* a Responses web search is priced under the tool the request declared: ``web_search`` when it
  asked for that one, else ``web_search_preview`` (whose gpt-4o/4.1 price is higher);
* outside the Responses API, a ``*search-preview`` model is one ``web_search_preview`` call per
  request, whatever it reports.
"""

from __future__ import annotations

import orjson

from newapi.core.usage import Usage
from newapi.relay.call import Call

_PREVIEW = "web_search_preview"
_SEARCH_PREVIEW_SUFFIX = "search-preview"


def _declares_web_search(body: bytes) -> bool:
    """The Responses request's tools include ``web_search`` (any dated version), not the preview."""
    if b'"web_search' not in body:
        return False
    try:
        tools = orjson.loads(body).get("tools")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    for tool in tools if isinstance(tools, list) else ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind.startswith("web_search") and not kind.startswith(_PREVIEW):
            return True
    return False


def bill_request_tools(call: Call, usage: Usage) -> None:
    """Apply the request-dependent rules to ``usage.tool_calls`` (cheap when neither applies)."""
    if call.fmt == "responses":
        calls = usage.tool_calls
        if calls and _PREVIEW in calls and _declares_web_search(call.body):
            renamed = dict(calls)
            count = renamed.pop(_PREVIEW)
            renamed["web_search"] = renamed.get("web_search", 0) + count
            usage.tool_calls = renamed
    elif call.billing_model.endswith(_SEARCH_PREVIEW_SUFFIX):
        calls = dict(usage.tool_calls or {})
        calls[_PREVIEW] = calls.get(_PREVIEW, 0) + 1
        usage.tool_calls = calls
