"""MiniMax ``POST /v1/text/chatcompletion_v2``: OpenAI's Chat Completions with ``base_resp``.

From MiniMax's API reference: every answer carries ``base_resp: {status_code, status_msg}``
(0 and "success" when it worked); errors come as HTTP 200 with a non-zero code (1004 bad key,
1002 rate limit, 1008 balance, 2013 bad parameters, 1000 unknown). The stream is OpenAI's SSE.
Its Anthropic-compatible API (``/anthropic/v1/messages``) is the Claude handler.
"""

from __future__ import annotations

import orjson

from newapi.testing.mock import openai
from newapi.testing.mock.context import Ctx, Reply, Stream

OK = {"status_code": 0, "status_msg": "success"}


def chat(ctx: Ctx) -> Reply | Stream:
    result = openai.chat(ctx)
    if isinstance(result, Reply) and result.status == 200:
        body = orjson.loads(result.body)
        body["base_resp"] = OK
        result.body = orjson.dumps(body)
    return result
