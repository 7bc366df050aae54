"""On MySQL, New API's indexed strings are varchar(191) (text elsewhere): a longer value is refused
with a 400 that names the column, never a 500; a value at the limit, in 4-byte characters, is
stored and read back whole (the connection speaks utf8mb4)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Roles

pytestmark = pytest.mark.dialects("mysql")


def _channel(**fields: object) -> dict[str, object]:
    return {"mode": "single", "channel": {"type": 1, "key": "k", "models": "m", "name": "c", **fields}}


@pytest.mark.parametrize(
    ("column", "fields"),
    [
        ("tag", {"tag": "t" * 192}),
        ("name", {"name": "n" * 192}),
        ("base_url", {"base_url": "https://upstream.example/" + "p" * 200}),
    ],
)
async def test_too_long_for_varchar_191_is_a_client_error(
    roles: Roles, column: str, fields: dict[str, object]
) -> None:
    reply = await roles.root.post("/api/channel/", json=_channel(**fields))
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["success"] is False and f"({column})" in body["message"]
    listed = (await roles.root.get("/api/channel/")).json()["data"]
    assert listed["total"] == 0  # nothing half-written


async def test_four_byte_characters_at_the_limit_round_trip(roles: Roles) -> None:
    tag = "🦊" * 191  # 191 characters, 764 bytes: the whole of a utf8mb4 varchar(191)
    made = (await roles.root.post("/api/channel/", json=_channel(name="渠道🦊", tag=tag))).json()
    assert made["success"], made
    item = (await roles.root.get("/api/channel/")).json()["data"]["items"][0]
    assert (item["name"], item["tag"]) == ("渠道🦊", tag)
