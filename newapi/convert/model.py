"""The neutral model of a chat request, a whole reply and a reply's stream.

Plain slotted dataclasses: built by one family's parser, read by another family's renderer,
and never serialised themselves. Usage is :class:`newapi.core.usage.Usage`, whose ``semantic``
says whether ``prompt_tokens`` includes the cache figures (OpenAI, Gemini, Responses) or not
(Claude); renderers convert between the two, billing reads them as they came.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from newapi.core.usage import Usage

CacheControl = dict[str, Any] | None
#: stop reasons use OpenAI's names; each family maps its own to and from these
StopReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(slots=True)
class Text:
    text: str
    cache_control: CacheControl = None


@dataclass(slots=True)
class Media:
    """An image, document or audio part: inline base64 ``data`` or a ``url``."""

    media_type: str
    data: str = ""
    url: str = ""
    cache_control: CacheControl = None


@dataclass(slots=True)
class Thinking:
    """Reasoning. ``signature`` is Claude's signature, Gemini's thoughtSignature or a Responses
    item's encrypted_content; ``redacted`` marks Claude's redacted_thinking (``text`` is its data)."""

    text: str
    signature: str = ""
    redacted: bool = False


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI carries it
    signature: str = ""  # Gemini's thoughtSignature on a functionCall part
    cache_control: CacheControl = None


@dataclass(slots=True)
class ToolResult:
    call_id: str
    name: str
    content: list[Text | Media]
    is_error: bool = False
    cache_control: CacheControl = None


Part = Text | Media | Thinking | ToolCall | ToolResult


@dataclass(slots=True)
class Message:
    role: Literal["user", "assistant"]
    parts: list[Part]


@dataclass(slots=True)
class Tool:
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None  # JSON schema
    cache_control: CacheControl = None


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str = ""


@dataclass(slots=True)
class Request:
    model: str = ""
    system: list[Text] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    include_usage: bool = False
    #: low | medium | high | minimal | none | xhigh | max
    reasoning_effort: str | None = None
    #: None: not asked; 0: thinking off; > 0 a token budget; -1: on, budget left to the model
    thinking_budget: int | None = None
    include_thoughts: bool = False
    #: OpenAI's shape: {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    user: str = ""
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class Reply:
    id: str = ""
    model: str = ""
    parts: list[Part] = field(default_factory=list)
    stop_reason: StopReason = "stop"
    usage: Usage | None = None
    created: int = 0


# -- stream events -------------------------------------------------------------------------------


@dataclass(slots=True)
class Begin:
    id: str = ""
    model: str = ""
    usage: Usage | None = None  # what is known at the start (Claude: the input side)


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ThinkingDelta:
    text: str


@dataclass(slots=True)
class SignatureDelta:
    """The signature of the thinking block being streamed (it ends that block)."""

    signature: str
    redacted_data: str = ""  # a whole redacted_thinking block


@dataclass(slots=True)
class ToolStart:
    index: int  # ordinal of the tool call in this reply, from 0
    id: str
    name: str
    signature: str = ""


@dataclass(slots=True)
class ToolArgs:
    index: int
    arguments: str  # a fragment of the JSON text


@dataclass(slots=True)
class Finish:
    reason: StopReason


@dataclass(slots=True)
class UsageReport:
    """Usage so far; a later report replaces the figures it sets (non-zero)."""

    usage: Usage


@dataclass(slots=True)
class Failure:
    """The upstream reported an error inside the stream."""

    message: str
    code: str = "upstream_error"


Event = (
    Begin | TextDelta | ThinkingDelta | SignatureDelta | ToolStart | ToolArgs | Finish | UsageReport | Failure
)


def merge_usage(old: Usage | None, new: Usage) -> Usage:
    """Figures of ``new`` that are set replace those of ``old`` (Claude streams split usage in two)."""
    if old is None:
        return new
    for name in (
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "reasoning_tokens",
        "image_tokens",
        "audio_input_tokens",
        "audio_output_tokens",
    ):
        value = getattr(new, name)
        if value:
            setattr(old, name, value)
    old.semantic = new.semantic
    # Built-in tool calls are reported once each, possibly apart from the tokens.
    if new.web_search_calls:
        old.web_search_calls = new.web_search_calls
    if new.tool_calls:
        old.tool_calls = {**(old.tool_calls or {}), **new.tool_calls}
    return old


def openai_prompt(usage: Usage) -> int:
    """All input tokens, cache reads and writes included (OpenAI's ``prompt_tokens``)."""
    if usage.semantic == "anthropic":
        return (
            usage.prompt_tokens + usage.cached_tokens + usage.cache_write_tokens + usage.cache_write_1h_tokens
        )
    return usage.prompt_tokens


def anthropic_input(usage: Usage) -> int:
    """Input tokens that were neither read from nor written to the cache (Claude's ``input_tokens``)."""
    if usage.semantic == "anthropic":
        return usage.prompt_tokens
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    return max(usage.prompt_tokens - usage.cached_tokens - writes, 0)


def text_of(parts: list[Part]) -> str:
    return "".join(p.text for p in parts if isinstance(p, Text))


def data_url(media: Media) -> str:
    return media.url or f"data:{media.media_type};base64,{media.data}"


def parse_data_url(url: str, default_type: str = "image/png") -> Media:
    """A ``data:`` URL becomes inline data; anything else stays a URL."""
    if url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        return Media(media_type=head[5:] or default_type, data=data)
    return Media(media_type=_guess_type(url, default_type), url=url)


def _guess_type(url: str, default: str) -> str:
    lowered = url.lower().split("?", 1)[0]
    for suffix, kind in (
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".gif", "image/gif"),
        (".webp", "image/webp"),
        (".pdf", "application/pdf"),
    ):
        if lowered.endswith(suffix):
            return kind
    return default
