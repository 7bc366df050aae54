"""A channel's ``system_prompt`` and ``system_prompt_override`` (New API's channel setting).

A request without a system prompt gets the channel's; a request with one keeps it, unless the
channel's override flag is on: then the channel's prompt is put in front of it (joined by a
newline to text, or as a first text part). It is applied in the client's own format, before any
conversion, so every channel family sees the same result.
"""

from __future__ import annotations

from typing import Any

_OPENAI_SYSTEM_ROLES = ("system", "developer")


def inject(fmt: str, body: dict[str, Any], prompt: str, override: bool) -> bool:
    """Edit ``body`` (in format ``fmt``); True when an existing system prompt was prefixed."""
    if fmt == "openai":
        return _openai(body, prompt, override)
    if fmt == "claude":
        return _claude(body, prompt, override)
    if fmt == "gemini":
        return _gemini(body, prompt, override)
    if fmt == "responses":
        return _responses(body, prompt, override)
    return False


def _openai(body: dict[str, Any], prompt: str, override: bool) -> bool:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False  # not a chat body (embeddings, images, ...)
    for message in messages:
        if isinstance(message, dict) and message.get("role") in _OPENAI_SYSTEM_ROLES:
            if not override:
                return False
            content = message.get("content")
            if isinstance(content, list):
                message["content"] = [{"type": "text", "text": prompt}, *content]
            else:
                message["content"] = prompt + "\n" + (content if isinstance(content, str) else "")
            return True
    body["messages"] = [{"role": "system", "content": prompt}, *messages]
    return False


def _claude(body: dict[str, Any], prompt: str, override: bool) -> bool:
    if "messages" not in body:
        return False
    system = body.get("system")
    if system is None or system == "" or system == []:
        body["system"] = prompt
        return False
    if not override:
        return False
    if isinstance(system, list):
        body["system"] = [{"type": "text", "text": prompt}, *system]
    else:
        body["system"] = prompt + "\n" + str(system)
    return True


def _gemini(body: dict[str, Any], prompt: str, override: bool) -> bool:
    if "contents" not in body:
        return False  # an embedding or token-count body
    name = "systemInstruction" if "systemInstruction" in body else "system_instruction"
    instruction = body.get(name)
    parts = instruction.get("parts") if isinstance(instruction, dict) else None
    if not isinstance(instruction, dict) or not isinstance(parts, list) or not parts:
        body.pop("system_instruction", None)
        body["systemInstruction"] = {"parts": [{"text": prompt}]}
        return False
    if not override:
        return False
    instruction["parts"] = [{"text": prompt}, *parts]
    return True


def _responses(body: dict[str, Any], prompt: str, override: bool) -> bool:
    instructions = body.get("instructions")
    if not isinstance(instructions, str) or not instructions:
        body["instructions"] = prompt
        return False
    if not override:
        return False
    body["instructions"] = prompt + "\n" + instructions
    return True
