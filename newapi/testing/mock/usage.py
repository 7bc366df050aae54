"""Deterministic usage, so billing tests can compute the quota they expect.

Formula (documented contract):

* ``prompt = Σ over prompt units (words(unit) + 3)``, where ``words`` is ``len(text.split())`` and a
  unit is one message (chat, Claude, Gemini ``contents`` entry, Responses input item), the system
  prompt / ``instructions`` / ``systemInstruction`` when present, one ``prompt`` or ``input`` string
  (completions, embeddings, moderations), the rerank query and each document. A token-id array input
  counts its length instead of words. Only text parts count; images, tools and schemas are ignored.
* ``completion = content pieces + reasoning pieces``: the ``chunks`` setting (directive
  ``chunks-N``) gives the content pieces (tool-call argument pieces replace text pieces, at least
  one); reasoning pieces equal the content pieces when reasoning is requested (Claude ``thinking``
  enabled/adaptive, Responses ``reasoning`` with effort other than ``none``, Gemini
  ``thinkingConfig.includeThoughts``; never for chat completions). Embeddings, moderations, rerank,
  speech and count-tokens endpoints have no completion. Images and audio: see ``media``.
* ``usage-P-C[-R-W]`` or header ``x-mock-usage: P,C[,R[,W]]`` force prompt P (total, cached parts
  included), completion C, cache read R and cache write W; reasoning becomes ``min(reasoning, C)``.
* ``cache-R[-W]`` keeps the formula and marks R (then W) of the prompt tokens as cache read (write).

Rendered per provider with one meaning of ``prompt`` (all input tokens, cached included):
OpenAI ``prompt_tokens = P`` with ``prompt_tokens_details.cached_tokens = R``; Responses
``input_tokens = P`` with ``input_tokens_details.cached_tokens = R`` (``cache_write_tokens = W``); Anthropic
``input_tokens = P - R - W`` beside ``cache_read_input_tokens = R`` and
``cache_creation_input_tokens = W``; Gemini ``promptTokenCount = P`` with
``cachedContentTokenCount = R`` and ``candidatesTokenCount = C - reasoning``, ``thoughtsTokenCount``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from newapi.testing.mock.faults import Faults

PER_UNIT = 3


@dataclass(frozen=True, slots=True)
class Usage:
    prompt: int
    completion: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "cache_read_tokens": self.cache_read,
            "cache_write_tokens": self.cache_write,
            "reasoning_tokens": self.reasoning,
        }


def text_of(content: Any) -> Iterable[str]:
    """Text strings inside a message ``content`` of any provider's shape."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    yield text


def unit(content: Any) -> int:
    """Tokens of one prompt unit: its words plus the per-unit overhead."""
    if isinstance(content, list) and content and all(isinstance(x, int) for x in content):
        return len(content) + PER_UNIT
    return sum(len(t.split()) for t in text_of(content)) + PER_UNIT


def units(items: Any) -> int:
    """A string is one unit; a list of strings or token arrays is one unit per element."""
    if isinstance(items, list) and items and not all(isinstance(x, int) for x in items):
        return sum(unit(x) for x in items)
    return unit(items) if items not in (None, "", []) else 0


def chat_prompt(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(unit(m.get("content")) for m in messages if isinstance(m, dict))


def claude_prompt(body: dict[str, Any]) -> int:
    system = body.get("system")
    return chat_prompt(body) + (unit(system) if system else 0)


def responses_prompt(body: dict[str, Any]) -> int:
    total = unit(body["instructions"]) if body.get("instructions") else 0
    given = body.get("input")
    if isinstance(given, str):
        return total + unit(given)
    if isinstance(given, list):
        for item in given:
            if isinstance(item, dict):
                total += unit(item.get("content", item.get("output", item.get("arguments"))))
    return total


def gemini_prompt(body: dict[str, Any]) -> int:
    total = 0
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, dict):
        total += unit(system.get("parts"))
    contents = body.get("contents")
    if isinstance(contents, dict):
        contents = [contents]
    if isinstance(contents, list):
        total += sum(unit(c.get("parts")) for c in contents if isinstance(c, dict))
    return total


def resolve(faults: Faults, prompt: int, completion: int, reasoning: int = 0) -> Usage | None:
    """The usage a response reports, after the usage directives; None for ``no-usage``."""
    if faults.no_usage:
        return None
    if faults.usage is not None:
        p, c, r, w = faults.usage
        usage = Usage(p, c, r, w, min(reasoning, c))
    else:
        r, w = faults.cache or (0, 0)
        r = min(r, prompt)
        usage = Usage(prompt, completion, r, min(w, prompt - r), reasoning)
    if faults.neg_usage:
        usage = Usage(
            -usage.prompt, -usage.completion, -usage.cache_read, -usage.cache_write, -usage.reasoning
        )
    return usage


def openai(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def responses(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt + u.completion,
    }


def claude(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt - u.cache_read - u.cache_write,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.completion,
        "service_tier": "standard",
    }


def gemini(u: Usage) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "promptTokenCount": u.prompt,
        "candidatesTokenCount": u.completion - u.reasoning,
        "totalTokenCount": u.prompt + u.completion,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.prompt}],
    }
    if u.cache_read:
        meta["cachedContentTokenCount"] = u.cache_read
    if u.reasoning:
        meta["thoughtsTokenCount"] = u.reasoning
    return meta


def gemini_partial(u: Usage) -> dict[str, Any]:
    """What Gemini puts in a chunk before the last one: the prompt side only."""
    return {"promptTokenCount": u.prompt, "totalTokenCount": u.prompt}
