"""Refusing prompts that contain a sensitive word (New API's ``sensitive_words_detected``).

The raw body is scanned first (one pass, no JSON parse): the common, clean request pays
only that. A hit there, or a body with ``\\u`` escapes that could hide a word, is confirmed on
the prompt's text, so a word in a model name or a tool schema never refuses. A large body
(images as base64, long histories) goes straight to the prompt's text: scanning megabytes of
image data would cost more than parsing the JSON once.
"""

from __future__ import annotations

from newapi.core.errors import BadRequest
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.settlement import prompt_text
from newapi.security.sensitive import prompt_filter

#: Bodies up to this size are scanned raw first.
RAW_SCAN_LIMIT = 64 * 1024


def check_prompt(options: OptionStore, call: Call) -> None:
    words = options.derived(prompt_filter)
    if words is None or call.endpoint.multipart:
        return
    body = call.body
    if (
        len(body) <= RAW_SCAN_LIMIT
        # find, not ``in``: bytes' ``in`` first tries its operand as an int, and the TypeError it
        # makes and drops costs ~1.9k instructions (bench/README.md, "Instructions per chat request")
        and body.find(b"\\u") < 0
        and not words.contains(body.decode("utf-8", "replace"))
    ):
        return
    try:
        text = prompt_text(call)
    except RecursionError:
        text = body.decode("utf-8", "replace")
    if not words.contains(text):
        return
    found = words.find(text)
    if found:
        raise BadRequest(
            "sensitive words detected: " + ", ".join(found),
            code="sensitive_words_detected",
            error_type="new_api_error",
        )
