"""Token usage as the gateway measures it, in one shape for every API family."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # cache reads
    cache_write_tokens: int = 0  # cache creation (5-minute, or total when no split is known)
    cache_write_1h_tokens: int = 0  # Claude 1-hour cache creation
    image_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    reasoning_tokens: int = 0
    semantic: str = "openai"  # "openai": prompt includes cache reads/writes; "anthropic": input excludes them
    web_search_calls: int = 0
    #: Other built-in tool calls by tool_price_setting name (web_search_preview, file_search, ...).
    tool_calls: dict[str, int] | None = None

    @property
    def valid(self) -> bool:
        """New API counts usage as present when prompt or completion tokens are non-zero."""
        return self.prompt_tokens != 0 or self.completion_tokens != 0
