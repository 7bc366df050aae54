"""Building the upstream request for OpenAI-compatible channels.

The client's body is forwarded byte for byte unless something must change
(model mapping, forced stream usage, per-model parameter rules, overrides);
then it is decoded once, edited, and encoded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from newapi.adaptors import override
from newapi.adaptors.openai import compat
from newapi.core.constants import ChannelType
from newapi.core.endpoints import Endpoint
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo

# Channel types whose OpenAI-format streams accept stream_options (New API's list, reference §10).
STREAM_OPTIONS_TYPES = frozenset(
    {
        ChannelType.OPENAI,
        ChannelType.AZURE,
        ChannelType.ANTHROPIC,
        ChannelType.AWS,
        ChannelType.GEMINI,
        ChannelType.CLOUDFLARE,
        ChannelType.VOLCENGINE,
        ChannelType.OLLAMA,
        ChannelType.XAI,
        ChannelType.DEEPSEEK,
        ChannelType.BAIDU_V2,
        ChannelType.ZHIPU_V4,
        ChannelType.ALI,
        ChannelType.SUBMODEL,
        ChannelType.CODEX,
        ChannelType.MOONSHOT,
        ChannelType.MINIMAX,
        ChannelType.SILICONFLOW,
        ChannelType.TENCENT,
    }
)

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_AZURE, _CUSTOM, _JINA, _OPENAI, _OPENROUTER = (
    ChannelType.AZURE,
    ChannelType.CUSTOM,
    ChannelType.JINA,
    ChannelType.OPENAI,
    ChannelType.OPENROUTER,
)

_EFFORT_SUFFIXES = ("-xhigh", "-high", "-medium", "-low", "-minimal", "-none")
_FORCE_USAGE_PREFIX = b'{"stream_options":{"include_usage":true},'


@dataclass(slots=True)
class BodyPlan:
    """What must change in the client's JSON body before it goes upstream."""

    upstream_model: str
    model_changed: bool
    force_usage: bool  # set stream_options.include_usage = true
    drop_stream_options: bool
    reasoning_effort: str  # from a model-name suffix
    param_override: dict[str, Any]
    openrouter: bool
    channel_type: int = 0
    #: fields a model-name suffix of the channel's type adds (compat.model_tweak)
    type_fields: dict[str, Any] | None = None
    type_edit: bool = False  # compat.tweak_body may change the body

    @property
    def needs_edit(self) -> bool:
        return _needs_edit(self)


def _needs_edit(plan: BodyPlan) -> bool:
    # A function, not only the property: build_body runs for every chat request, and on 3.11 a
    # property read costs ~1k instructions where a plain call costs a fraction of that.
    return bool(plan.force_usage or _edits_beyond_usage(plan))


def _edits_beyond_usage(plan: BodyPlan) -> bool:
    """Whether the body changes for anything but the forced usage option."""
    return bool(
        plan.model_changed
        or plan.drop_stream_options
        or plan.reasoning_effort
        or plan.param_override
        or plan.openrouter
        or plan.type_fields
        or plan.type_edit
        or _is_reasoning_model(plan.upstream_model)
    )


def _is_reasoning_model(model: str) -> bool:
    return model.startswith(("o1", "o3", "o4", "gpt-5"))


def split_effort_suffix(model: str) -> tuple[str, str]:
    """``o3-high`` -> (``o3``, ``high``) for o-series and gpt-5 models (reference §4.8)."""
    if not _is_reasoning_model(model):
        return model, ""
    for suffix in _EFFORT_SUFFIXES:
        if model.endswith(suffix):
            return model[: -len(suffix)], suffix[1:]
    return model, ""


def plan_body(
    channel: ChannelInfo,
    upstream_model: str,
    original_model: str,
    *,
    stream: bool,
    client_stream_options: bool,
    force_stream_option: bool,
    endpoint: Endpoint,
) -> BodyPlan:
    kind = channel.type
    # The plan's terms hang on these alone (of the endpoint only whether it streams): kept, as the
    # same few combinations come request after request. A plan is made per call all the same:
    # build_body writes the client's reasoning effort into it.
    which = (
        kind,
        upstream_model,
        original_model,
        stream,
        client_stream_options,
        force_stream_option,
        endpoint.can_stream,
    )
    terms = _PLANS.get(which)
    if terms is None:
        terms = _plan_terms(*which)
        if terms[5] is None:  # a type's fields are dicts a body takes in: those plans are not kept
            if len(_PLANS) >= _KEPT_PLANS:
                _PLANS.clear()  # model names come from clients: bounded
            _PLANS[which] = terms
    model, changed, force_usage, drop_options, effort, fields, openrouter, type_edit = terms
    # Positional, in BodyPlan's field order: once per attempt, and keywords cost a dict.
    return BodyPlan(
        model,
        changed,
        force_usage,
        drop_options,
        effort,
        override.legacy(channel.param_override),  # param_override
        openrouter,
        kind,  # channel_type
        fields,  # type_fields
        type_edit,
    )


#: (upstream model, model changed, force usage, drop stream_options, effort, type fields,
#: OpenRouter, type edit): a BodyPlan's terms but the channel's param_override
_Terms = tuple[str, bool, bool, bool, str, dict[str, Any] | None, bool, bool]
_PLANS: dict[tuple[object, ...], _Terms] = {}
_KEPT_PLANS = 4096


def _plan_terms(
    kind: int,
    upstream_model: str,
    original_model: str,
    stream: bool,
    client_stream_options: bool,
    force_stream_option: bool,
    can_stream: bool,
) -> _Terms:
    model, effort = split_effort_suffix(upstream_model) if can_stream else (upstream_model, "")
    fields: dict[str, Any] = {}
    if can_stream:
        model, fields = compat.model_tweak(kind, model)
        effort = effort or str(fields.get("reasoning_effort", ""))
    supports = kind in STREAM_OPTIONS_TYPES
    return (
        model,
        model != original_model,  # model_changed
        stream and supports and force_stream_option,  # force_usage
        client_stream_options and not supports,  # drop_stream_options
        effort,  # reasoning_effort
        fields or None,  # type_fields
        kind == _OPENROUTER and can_stream,  # openrouter
        # type_edit: Jina's edit is on embeddings (encoding_format); the others' on chat and
        # completions.
        (can_stream or kind == _JINA) and compat.edits_body(kind, model),
    )


def _adjust_reasoning_model(body: dict[str, Any], model: str) -> None:
    # New API's OpenAI adaptor rules for o-series and gpt-5 (reference §4.9).
    if "max_tokens" in body:
        if "max_completion_tokens" not in body:
            body["max_completion_tokens"] = body["max_tokens"]
        del body["max_tokens"]
    if model.startswith("gpt-5"):
        for name in ("temperature", "top_p", "logprobs"):
            body.pop(name, None)
    else:
        body.pop("temperature", None)
    messages = body.get("messages")
    if isinstance(messages, list) and not model.startswith(("o1-mini", "o1-preview")):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "system":
                message["role"] = "developer"
                break


def build_body(raw: bytes, plan: BodyPlan) -> bytes:
    """The upstream body: ``raw`` itself when nothing changes."""
    if not _needs_edit(plan):
        return raw
    only_usage = plan.force_usage and not _edits_beyond_usage(plan)
    if only_usage and b'"stream_options"' not in raw:
        stripped = raw.lstrip()
        if stripped[:1] == b"{":
            rest = stripped[1:].lstrip()
            # Splicing the key in front keeps the client's bytes and skips a decode/encode.
            return _FORCE_USAGE_PREFIX[:-1] + (b"," + rest if rest[:1] != b"}" else rest)
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        return raw
    if plan.model_changed:
        body["model"] = plan.upstream_model
    if plan.drop_stream_options:
        body.pop("stream_options", None)
    if plan.force_usage:
        options = body.get("stream_options")
        if not isinstance(options, dict):
            options = body["stream_options"] = {}
        options["include_usage"] = True
    if plan.reasoning_effort:
        body["reasoning_effort"] = plan.reasoning_effort
    if _is_reasoning_model(plan.upstream_model):
        _adjust_reasoning_model(body, plan.upstream_model)
        # The effort the request goes up with, for the consume log (New API's OpenAI adaptor).
        client_effort = body.get("reasoning_effort")
        if not plan.reasoning_effort and isinstance(client_effort, str):
            plan.reasoning_effort = client_effort
    if plan.type_fields:
        for name, value in plan.type_fields.items():
            body.setdefault(name, value)  # the client's own value wins, as in New API
    if plan.type_edit:
        compat.tweak_body(plan.channel_type, plan.upstream_model, body)
    if plan.openrouter:
        usage = body.get("usage")
        if not isinstance(usage, dict):
            body["usage"] = {"include": True}
    if plan.param_override:
        override.merge(body, plan.param_override)
    return orjson.dumps(body)


def upstream_url(channel: ChannelInfo, endpoint: Endpoint, model: str, azure_default_version: str) -> str:
    base = channel.base_url
    if channel.type == _CUSTOM:
        return base.replace("{model}", model)
    if channel.type == _AZURE:
        version = channel.other or azure_default_version
        deployment = model.replace(".", "")
        suffix = endpoint.path.removeprefix("/v1")
        return f"{base}/openai/deployments/{deployment}{suffix}?api-version={version}"
    # compat.url is a function of these alone; the same few URLs are asked for request after request.
    which = (channel.type, base, endpoint.name, endpoint.path, model, channel.other)
    found = _URLS.get(which)
    if found is not None:
        return found
    found = compat.url(channel.type, base, endpoint.name, endpoint.path, model, channel.other)
    if found is None:
        name = compat.COMPAT[channel.type].name
        served = compat.served_endpoints(channel.type)
        message = f"{name} channels serve {served} only, not {endpoint.name}"
        raise BadRequest(message, code="unsupported_endpoint")
    if len(_URLS) >= _KEPT_URLS:
        _URLS.clear()  # model names come from clients: bounded
    _URLS[which] = found
    return found


#: upstream_url's answers for the compatible types, by what compat.url makes them of
_URLS: dict[tuple[object, ...], str] = {}
_KEPT_URLS = 4096


def auth_headers(channel: ChannelInfo, key: str, stream: bool = False) -> list[tuple[bytes, bytes]]:
    if channel.type == _AZURE:
        headers = [(b"api-key", key.encode())]
    else:
        key, extra = compat.extra_headers(channel.type, key, channel.other, stream)
        headers = [(b"authorization", b"Bearer " + key.encode()), *extra]
    if channel.type == _OPENAI and channel.openai_organization:
        headers.append((b"openai-organization", channel.openai_organization.encode()))
    if channel.type == _OPENROUTER:
        # New API's OpenRouter attribution headers (reference §4.9).
        headers.append((b"http-referer", b"https://www.newapi.ai"))
        headers.append((b"x-openrouter-title", b"New API"))
    return headers
