"""The formats a channel speaks natively, the one a request is converted to first."""

from __future__ import annotations

from newapi.adaptors.openai import compat
from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo
from newapi.relay.formats import CLAUDE, GEMINI, OPENAI, RESPONSES
from newapi.relay.natives import NATIVES
from newapi.relay.signed import SIGNED

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_GEMINI, _VERTEX_AI = ChannelType.GEMINI, ChannelType.VERTEX_AI
_CLAUDE_TYPES = frozenset({ChannelType.ANTHROPIC, ChannelType.AWS})


def native_formats(
    channel: ChannelInfo, model: str, ali_models: tuple[str, ...] = compat.ALI_CLAUDE_MODELS
) -> tuple[str, ...]:
    """The formats a channel speaks, the one it is converted to first."""
    kind = channel.type
    fixed = _FIXED_FORMATS.get(kind)
    if fixed is not None:
        return fixed
    signed = SIGNED.get(kind)
    if signed is not None:
        return (signed.name,)
    if kind in _CLAUDE_TYPES:
        return (CLAUDE,)
    if kind == _GEMINI:
        return (GEMINI,)
    if kind in compat.NEW_API_FAMILY:  # New API or Sub2API: each family on its own path, as sent
        return (OPENAI, RESPONSES, CLAUDE, GEMINI)
    if kind == _VERTEX_AI:
        return (CLAUDE,) if "claude" in model else (GEMINI,)
    native = NATIVES.get(kind)
    if native is not None:
        return (native.target, *native.formats)
    responses = (RESPONSES,) if compat.speaks_responses(kind) else ()  # else converted to chat
    if compat.claude_url(kind, channel.base_url, model, ali_models) is not None:  # DeepSeek, Ali, ...
        return (OPENAI, *responses, CLAUDE)
    if kind not in compat.COMPAT:  # OpenAI's own and the like: nothing above reads the URL or model
        _FIXED_FORMATS[kind] = (OPENAI, *responses)
    return (OPENAI, *responses)


#: native_formats of the types whose answer depends on the type alone (the eight tests above it,
#: once per worker instead of once per attempt)
_FIXED_FORMATS: dict[int, tuple[str, ...]] = {}
