"""Channel list and search filters (New API's group, status, type, tag mode), key_mode on edit,
and the served/refused channel types."""

from __future__ import annotations

from typing import Any

import pytest

from newapi.adaptors.openai.compat import refusal
from tests.api.conftest import Roles
from tests.support.inprocess import Session


async def _make(root: Session, **fields: Any) -> int:
    channel = {"type": 1, "key": "sk-x", "models": "gpt-4o-mini", "name": "c", **fields}
    answer = (await root.post("/api/channel/", json={"mode": "single", "channel": channel})).json()
    assert answer["success"], answer
    return int(answer["data"]["id"])


async def _page(root: Session, path: str, **params: Any) -> dict[str, Any]:
    answer = (await root.get(path, params=params)).json()
    assert answer["success"], answer
    return dict(answer["data"])


def _names(data: dict[str, Any]) -> list[str]:
    return sorted(item["name"] for item in data["items"])


@pytest.fixture
async def fleet(roles: Roles) -> dict[str, int]:
    """Seven channels across two groups, two tags, two types and three statuses."""
    root = roles.root
    ids = {
        "a1": await _make(root, name="alpha-1", group="default,vip", tag="alpha", priority=5),
        "a2": await _make(root, name="alpha-2", group="default", tag="alpha", priority=1),
        "a3": await _make(root, name="alpha-3", group="vip", tag="alpha", type=14),
        "b1": await _make(root, name="beta-1", group="vip", tag="beta", models="claude-x", type=14),
        "c1": await _make(root, name="gamma-1", group="default", tag="gamma"),
        "u1": await _make(root, name="untagged-1", group="default"),
        "u2": await _make(root, name="untagged-2", group="vipx"),
    }
    assert (await root.post("/api/channel/status/batch", json={"ids": [ids["a2"]], "status": 2})).json()[
        "success"
    ]
    return ids


async def test_list_filters_by_group_status_type_and_tag(roles: Roles, fleet: dict[str, int]) -> None:
    root = roles.root
    vip = await _page(root, "/api/channel/", group="vip", page_size=100)
    # "vip" matches the group exactly within the comma list, never "vipx".
    assert _names(vip) == ["alpha-1", "alpha-3", "beta-1"]
    assert vip["total"] == 3
    assert vip["type_counts"] == {"1": 1, "14": 2, "all": 3}
    assert _names(await _page(root, "/api/channel/", group="all", page_size=100)) == sorted(
        ["alpha-1", "alpha-2", "alpha-3", "beta-1", "gamma-1", "untagged-1", "untagged-2"]
    )
    assert _names(await _page(root, "/api/channel/", status="disabled")) == ["alpha-2"]
    assert _names(await _page(root, "/api/channel/", status="0")) == ["alpha-2"]
    assert _names(await _page(root, "/api/channel/", status="2")) == ["alpha-2"]
    assert (await _page(root, "/api/channel/", status="3"))["total"] == 0
    assert (await _page(root, "/api/channel/", status="enabled"))["total"] == 6
    typed = await _page(root, "/api/channel/", type=14, group="vip")
    assert _names(typed) == ["alpha-3", "beta-1"]
    # The type counts are taken before the type filter (the picker shows every type's count).
    assert typed["type_counts"]["1"] == 1
    assert _names(await _page(root, "/api/channel/", tag="alpha", status="enabled")) == ["alpha-1", "alpha-3"]
    by_name = await _page(root, "/api/channel/", sort_by="name", sort_order="asc", page_size=2)
    assert [i["name"] for i in by_name["items"]] == ["alpha-1", "alpha-2"]


async def test_search_takes_the_list_filters(roles: Roles, fleet: dict[str, int]) -> None:
    root = roles.root
    found = await _page(root, "/api/channel/search", keyword="alpha", status="enabled", type=1)
    assert _names(found) == ["alpha-1"]
    assert found["type_counts"] == {"1": 1, "14": 1, "all": 2}
    assert _names(await _page(root, "/api/channel/search", keyword="1", group="vip")) == [
        "alpha-1",
        "beta-1",
    ]
    assert _names(await _page(root, "/api/channel/search", model="claude", tag="beta")) == ["beta-1"]
    assert _names(await _page(root, "/api/channel/search", keyword="a", tag="gamma")) == ["gamma-1"]
    assert (await _page(root, "/api/channel/search", keyword="%"))["total"] == 0


async def test_tag_mode_pages_by_tag_across_channel_pages(roles: Roles, fleet: dict[str, int]) -> None:
    root = roles.root
    first = await _page(root, "/api/channel/", tag_mode="true", page_size=2, p=1)
    # Three tags (untagged channels are not a tag), two per page, every channel of each tag.
    assert first["total"] == 3
    assert [t["tag"] for t in first["tags"]] == ["alpha", "beta"]
    assert _names(first) == ["alpha-1", "alpha-2", "alpha-3", "beta-1"]
    assert first["tags"][0] == {"tag": "alpha", "channels": 3, "enabled": 2}
    second = await _page(root, "/api/channel/", tag_mode="true", page_size=2, p=2)
    assert [t["tag"] for t in second["tags"]] == ["gamma"]
    assert _names(second) == ["gamma-1"]
    vip = await _page(root, "/api/channel/", tag_mode="true", group="vip")
    assert [t["tag"] for t in vip["tags"]] == ["alpha", "beta"]
    assert _names(vip) == ["alpha-1", "alpha-3", "beta-1"]
    # A search in tag mode chooses tags by the keyword and lists their channels whole.
    searched = await _page(root, "/api/channel/search", keyword="alpha-3", tag_mode="true")
    assert searched["total"] == 1
    assert _names(searched) == ["alpha-1", "alpha-2", "alpha-3"]
    # Tag-level actions reach channels of every page.
    assert (await root.post("/api/channel/tag/disabled", json={"tag": "alpha"})).json()["success"]
    after = await _page(root, "/api/channel/", tag_mode="true", page_size=1)
    assert after["tags"][0] == {"tag": "alpha", "channels": 3, "enabled": 0}


async def test_key_mode_appends_or_replaces_multi_key_channels(roles: Roles) -> None:
    root = roles.root
    channel = {"type": 1, "key": "k1\nk2", "models": "gpt-4o-mini", "name": "multi"}
    body = {"mode": "multi_to_single", "multi_key_mode": "polling", "channel": channel}
    made = (await root.post("/api/channel/", json=body)).json()
    channel_id = made["data"]["id"]
    disable = {"channel_id": channel_id, "action": "disable_key", "key_index": 1}
    assert (await root.post("/api/channel/multi_key/manage", json=disable)).json()["success"]

    appended = await root.put("/api/channel/", json={"id": channel_id, "key": "k2\nk3", "key_mode": "append"})
    info = appended.json()["data"]["channel_info"]
    assert info["multi_key_size"] == 3
    assert info["multi_key_status_list"] == {"1": 2}  # k2 stays disabled, k3 joins enabled
    assert info["multi_key_mode"] == "polling"

    replaced = await root.put(
        "/api/channel/", json={"id": channel_id, "key": "n1\nn2\nn3\nn4", "key_mode": "replace"}
    )
    info = replaced.json()["data"]["channel_info"]
    assert info["multi_key_size"] == 4
    assert info["multi_key_status_list"] == {}

    # No key entered: the keys stay whatever the mode says.
    kept = await root.put("/api/channel/", json={"id": channel_id, "name": "m2", "key_mode": "append"})
    assert kept.json()["data"]["channel_info"]["multi_key_size"] == 4
    bad = await root.put("/api/channel/", json={"id": channel_id, "key": "z", "key_mode": "merge"})
    assert bad.json() == {"success": False, "message": "key_mode must be append or replace"}


async def test_channel_types_say_which_are_served(roles: Roles) -> None:
    answer = (await roles.admin.get("/api/channel/types")).json()
    assert answer["success"]
    by_type = {t["type"]: t for t in answer["data"]}
    assert by_type[1]["served"] is True and by_type[1]["reason"] is None
    # Whatever the adaptors say now: the answer is the save-time refusal, type by type.
    for kind, entry in by_type.items():
        assert entry["reason"] == refusal(kind)
        assert entry["served"] is (refusal(kind) is None)
    refused = [k for k, e in by_type.items() if not e["served"]]
    assert refused, "some type (Midjourney's tasks at least) is refused"
    channel = {"type": refused[0], "key": "k", "models": "m", "name": "r"}
    saved = (await roles.root.post("/api/channel/", json={"mode": "single", "channel": channel})).json()
    assert saved == {"success": False, "message": by_type[refused[0]]["reason"]}
    assert (await roles.user.get("/api/channel/types")).status_code == 403
