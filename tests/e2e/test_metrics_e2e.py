"""GET /metrics of a real two-worker node under load: every worker's counts are in the sum.

Requests go on fresh connections from several threads, so both workers serve them (the test
checks that each left its own files); scrapes run while the load runs, and after it the
request counter, the latency histogram and the token counter add up to what was sent.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from newapi.testing import MockUpstreamThread
from tests.support.server import serve

pytestmark = pytest.mark.e2e

REQUESTS = 240
TOKEN = "metrics-e2e-token"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
ADMIN = {"New-Api-User": "1"}


def _sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    directory = tmp_path_factory.mktemp("metrics")
    env = {
        "SQLITE_PATH": str(directory / "one-api.db"),
        "NEWAPI_METRICS_TOKEN": TOKEN,
        "CRITICAL_RATE_LIMIT_ENABLE": "false",
        "GLOBAL_WEB_RATE_LIMIT_ENABLE": "false",
    }
    with (
        MockUpstreamThread(chunks=3) as mock,
        serve(env, workers=2, cwd=directory) as base,
        httpx.Client(base_url=base, timeout=10) as admin,
    ):
        password = {"username": "root", "password": "rootpass123"}
        assert admin.post("/api/setup", json={**password, "confirmPassword": "rootpass123"}).json()["success"]
        assert admin.post("/api/user/login", json=password).json()["success"]
        channel = {"type": 1, "key": "sk-mock", "name": "m", "base_url": mock.url, "models": "gpt-4o-mini"}
        made = admin.post("/api/channel/", json={"mode": "single", "channel": channel}, headers=ADMIN)
        assert made.json()["success"], made.text
        token = admin.post("/api/token/", json={"name": "t", "unlimited_quota": True}, headers=ADMIN).json()
        yield base, "sk-" + str(token["data"]["key"]), directory / "one-api.db.node" / "metrics"


def test_scrape_under_load_sums_every_worker(node: tuple[str, str, Path]) -> None:
    base, key, metrics_dir = node
    assert httpx.get(f"{base}/metrics", timeout=5).status_code == 401
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "count me"}]}

    def one(index: int) -> int:
        # A fresh connection each time: Granian's workers share the listening socket.
        with httpx.Client(base_url=base, timeout=20) as client:
            response = client.post(
                "/v1/chat/completions",
                json={**body, "stream": index % 2 == 0},
                headers={"Authorization": f"Bearer {key}"},
            )
            return response.status_code

    scrapes: list[int] = []
    done = threading.Event()

    def scrape_while_loaded() -> None:
        while not done.is_set():
            scrapes.append(httpx.get(f"{base}/metrics", headers=SCRAPE, timeout=10).status_code)
            time.sleep(0.1)

    scraper = threading.Thread(target=scrape_while_loaded)
    scraper.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(one, range(REQUESTS)))
    finally:
        done.set()
        scraper.join(timeout=30)
    assert statuses == [200] * REQUESTS
    assert scrapes and set(scrapes) == {200}

    # Each worker folds its counts within a second; wait for both (bounded).
    deadline = time.monotonic() + 10
    while True:
        text = httpx.get(f"{base}/metrics", headers=SCRAPE, timeout=10).text
        counted = _sum(text, "newapi_relay_requests_total", model="gpt-4o-mini", status="200")
        if counted >= REQUESTS or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert counted == REQUESTS
    assert _sum(text, "newapi_relay_request_duration_seconds_count", endpoint="chat") == REQUESTS
    assert _sum(text, "newapi_relay_time_to_first_byte_seconds_count", endpoint="chat") == REQUESTS
    assert _sum(text, "newapi_relay_request_duration_seconds_bucket", endpoint="chat", le="+Inf") == REQUESTS
    assert _sum(text, "newapi_tokens_total", model="gpt-4o-mini", kind="completion") > 0
    assert _sum(text, "newapi_quota_settled_total", model="gpt-4o-mini") > 0
    assert _sum(text, "newapi_open_streams") == 0
    # Both workers served and wrote their own counter file (one per process id).
    files = glob.glob(str(metrics_dir / str(base.pid) / "counter_*.db"))  # type: ignore[attr-defined]
    pids = {os.path.basename(p).split("_")[1] for p in files}
    assert len(pids) >= 2, pids
