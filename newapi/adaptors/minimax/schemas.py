"""msgspec view of MiniMax's ``base_resp``, the status every answer carries (0 is success)."""

from __future__ import annotations

import msgspec


class BaseResp(msgspec.Struct):
    status_code: int = 0
    status_msg: str = ""


class WithBaseResp(msgspec.Struct):
    base_resp: BaseResp | None = None


base_resp_decoder = msgspec.json.Decoder(WithBaseResp)
