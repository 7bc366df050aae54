"""Replicate (56) as New API serves it beyond plain generations: ``response_format: b64_json``
(the output files downloaded through the SSRF-guarded fetcher and inlined) and image edits (the
form's image uploaded to Replicate's ``/v1/files`` and given to the model as ``image_prompt``).

The mock is on a loopback address, so this gateway allows private URLs; the guard's refusal of
the same download is checked in test_native_types."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from newapi.testing import MockUpstreamThread
from newapi.testing.mock import replicate as replicate_mock
from tests.support.consume_logs import consume_log
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

IMAGE = b"\x89PNG\r\n\x1a\n" + b"client image" * 50


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("replicate")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "NEWAPI_ALLOW_PRIVATE_URLS": "true"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        mapping = {"rep-flux": "black-forest-labs/flux-schnell"}
        channel = {
            "type": 56,
            "key": "r8-mock",
            "name": "replicate",
            "base_url": mock.url,
            "models": "rep-flux",
            "model_mapping": json.dumps(mapping),
        }
        add_channel(admin, channel)
        put_option(admin, "ModelPrice", {"rep-flux": 0.04})
        yield base, unlimited_key(admin, "rep"), admin


def test_b64_json_inlines_the_downloaded_files(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.images.with_raw_response.generate(
        model="rep-flux", prompt="a red fox", n=2, response_format="b64_json"
    )
    images = raw.parse().data or []
    records = mock.requests()
    downloads = [r.path for r in records if r.path.startswith("/replicate-delivery/")][-2:]
    assert len(images) == 2 and all(d.url is None for d in images)
    assert [base64.b64decode(d.b64_json or "") for d in images] == [
        replicate_mock.delivered_bytes(p) for p in downloads
    ]
    assert [p.rsplit("/", 1)[1] for p in downloads] == ["out-0.webp", "out-1.webp"]
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["quota"] == 2 * 0.04 * 500_000


def test_edit_uploads_the_image_and_prompts_with_it(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.images.with_raw_response.edit(
        model="rep-flux", image=("fox.png", IMAGE, "image/png"), prompt="add a hat", size="1536x1024"
    )
    images = raw.parse().data or []
    upload, prediction = mock.requests()[-2:]
    assert upload.path == "/v1/files" and upload.headers["authorization"] == "Bearer r8-mock"
    assert IMAGE in upload.body and b'name="content"; filename="fox.png"' in upload.body
    sent = json.loads(prediction.body)["input"]
    assert prediction.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert sent["prompt"] == "add a hat" and sent["aspect_ratio"] == "3:2"
    assert sent["image_prompt"] == f"{mock.url}/v1/files/filemock{upload.id:08d}"
    delivered = f"{mock.url}/replicate-delivery/predmock{prediction.id:08d}/out-0.webp"
    assert [d.url for d in images] == [delivered]
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["quota"] == 0.04 * 500_000


def test_edit_with_b64_json(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    answer = client.images.edit(
        model="rep-flux", image=("fox.png", IMAGE, "image/png"), prompt="a hat", response_format="b64_json"
    )
    download = mock.requests()[-1]
    assert download.path.startswith("/replicate-delivery/")
    assert [base64.b64decode(d.b64_json or "") for d in answer.data or []] == [
        replicate_mock.delivered_bytes(download.path)
    ]


def test_edit_refusals_are_clear(gateway: tuple[str, str, httpx.Client]) -> None:
    base, key, _ = gateway
    auth = {"Authorization": f"Bearer {key}"}
    no_image = httpx.post(
        f"{base}/v1/images/edits", data={"model": "rep-flux", "prompt": "x"}, files={"mask": ("", b"")},
        headers=auth, timeout=10,
    )  # fmt: skip
    assert no_image.status_code == 400 and "image file is required" in no_image.text
    no_prompt = httpx.post(
        f"{base}/v1/images/edits", data={"model": "rep-flux"}, files={"image": ("a.png", IMAGE, "image/png")},
        headers=auth, timeout=10,
    )  # fmt: skip
    assert no_prompt.status_code == 400 and "prompt is required" in no_prompt.text
