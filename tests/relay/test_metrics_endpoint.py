"""GET /metrics on one in-process worker: the bearer token, and the relay's counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from newapi.settings import Settings
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_need_the_token_and_count_requests(
    tmp_path: Path, settings_for: Callable[..., Settings], mock: MockUpstreamThread
) -> None:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db", "NEWAPI_METRICS_TOKEN": "scrape-me"})
    async with running_app(settings) as gateway, client_for(gateway) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "scrape-me" not in wrong.text

        channel_id = await add_channel(gateway, mock.url)
        account = await add_account(gateway)
        headers = {"Authorization": f"Bearer {account.key}"}
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
        for stream in (False, True, True):
            response = await client.post(
                "/v1/chat/completions", json={**body, "stream": stream}, headers=headers
            )
            assert response.status_code == 200, response.text
        unknown = await client.post("/v1/chat/completions", json={**body, "model": "nope-1"}, headers=headers)
        assert unknown.status_code == 503

        scrape = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        samples = _samples(scrape.text)
        ok = frozenset(
            {"endpoint": "chat", "model": "gpt-4o-mini", "channel": str(channel_id), "status": "200"}.items()
        )
        assert samples[("newapi_relay_requests_total", ok)] == 3
        refused = frozenset({"endpoint": "chat", "model": "", "channel": "0", "status": "503"}.items())
        assert samples[("newapi_relay_requests_total", refused)] == 1
        assert (
            samples[("newapi_relay_request_duration_seconds_count", frozenset({("endpoint", "chat")}))] == 4
        )
        assert (
            samples[("newapi_relay_time_to_first_byte_seconds_count", frozenset({("endpoint", "chat")}))] == 3
        )
        prompt = frozenset({"model": "gpt-4o-mini", "kind": "prompt"}.items())
        assert samples[("newapi_tokens_total", prompt)] > 0
        assert samples[("newapi_quota_settled_total", frozenset({("model", "gpt-4o-mini")}))] > 0
        assert samples[("newapi_cache_reloads_total", frozenset({("cache", "channels")}))] >= 1
        assert samples[("newapi_open_streams", frozenset())] == 0
