"""OpenAI's legacy completion as the run API's text-generation input (New API's CfRequest)."""

from __future__ import annotations

from typing import Any


def completion_request(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("Cloudflare completions take the prompt as one string")
    out: dict[str, Any] = {"prompt": prompt}
    limit = body.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        out["max_tokens"] = limit
    if body.get("stream") is True:
        out["stream"] = True
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        out["temperature"] = temperature
    return out
