"""The providers with their own signed auth, by path: Baidu ERNIE v1, Zhipu v3 and Tencent Hunyuan.

(Xunfei Spark speaks over a WebSocket: newapi.testing.mock.spark is its own server.)
"""

from __future__ import annotations

from collections.abc import Callable

from newapi.testing.mock import baidu, tencent, zhipu
from newapi.testing.mock.context import Ctx, Reply, Stream

Handler = Callable[[Ctx], Reply | Stream]


def resolve(method: str, path: str) -> tuple[str, Handler] | None:
    """(family, handler) of a signed provider's route."""
    if method != "POST":
        return None
    if path == "/":
        return "tencent", tencent.chat
    if path == "/oauth/2.0/token":
        return "baidu", baidu.token
    if path.startswith(baidu.CHAT_PREFIX):
        return "baidu", baidu.chat
    if path.startswith(baidu.EMBEDDINGS_PREFIX):
        return "baidu", baidu.embeddings
    if path.startswith(zhipu.PREFIX) and path.endswith(("/invoke", "/sse-invoke")):
        return "zhipu", zhipu.invoke
    return None
