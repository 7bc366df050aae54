"""Expression billing through a real Granian server, configured over the management API as an
operator would: a model priced by an expression with two tiers on the prompt length (and a
ModelRatio the expression overrides), group ratio 1.5; a short and a long prompt are billed
to the unit in the consume log and on the balance, and a bad expression is refused on save.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.consume_logs import consume_log
from tests.support.over_api import root_channel_and_key, user_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

MODEL = "tiered-e2e"
EXPR = 'p <= 1000 ? tier("short", p * 2 + c * 8) : tier("long", p * 4 + c * 16)'
START = 1_000_000  # under the $10 trust threshold: every request's estimate is held


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def served(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """(admin client, the user's client, the user's key)."""
    directory = tmp_path_factory.mktemp("expr-billing")
    with (
        serve({"SQLITE_PATH": str(directory / "one-api.db")}, workers=1, cwd=directory) as base,
        httpx.Client(base_url=base, timeout=30) as admin,
        httpx.Client(base_url=base, timeout=30) as user,
    ):
        root_channel_and_key(admin, mock.url, MODEL, 0.075)

        def put(key: str, value: str) -> dict[str, object]:
            answer: dict[str, object] = admin.put("/api/option/", json={"key": key, "value": value}).json()
            return answer

        refused = put("billing_setting.billing_expr", json.dumps({MODEL: 'tier("short", p * 2 +'}))
        assert not refused["success"] and "is refused" in str(refused["message"])
        assert put("billing_setting.billing_expr", json.dumps({MODEL: EXPR}))["success"]
        assert put("billing_setting.billing_mode", json.dumps({MODEL: "tiered_expr"}))["success"]
        assert put("GroupRatio", json.dumps({"default": 1.5}))["success"]
        yield admin, user, user_key(admin, user, START)


def test_short_and_long_prompts_are_billed_by_their_tier(
    served: tuple[httpx.Client, httpx.Client, str],
) -> None:
    admin, user, key = served
    headers = {"authorization": f"Bearer {key}"}
    cases = [
        # 2 words + 3 = 5 prompt tokens, 5 completion: (5 x 2 + 5 x 8) = 50 -> 25 x 1.5 = 37.5 -> 38
        ("hi there", False, 38, "short", 5),
        # 1203 prompt tokens: (1203 x 4 + 5 x 16) = 4892 -> 2446 x 1.5 = 3669
        ("word " * 1200, True, 3669, "long", 1203),
    ]
    for text, stream, quota, tier, prompt in cases:
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "stream": stream}
        reply = user.post("/v1/chat/completions", json=body, headers=headers)
        assert reply.status_code == 200, reply.text
        log = consume_log(admin, reply.headers["x-oneapi-request-id"])
        assert (log["quota"], log["prompt_tokens"], log["completion_tokens"]) == (quota, prompt, 5)
        other = json.loads(log["other"])
        assert (other["billing_mode"], other["matched_tier"], other["group_ratio"]) == (
            "tiered_expr",
            tier,
            1.5,
        )
    assert user.get("/api/user/self").json()["data"]["quota"] == START - 38 - 3669
