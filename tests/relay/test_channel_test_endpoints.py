"""Channel tests for every endpoint type New API's test route takes, each spoken to the mock
upstream in its own protocol, and the channel test's place in the import graph (no cycle with the
runtime and the scheduled jobs)."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, setup_root
from tests.support.provision import add_channel

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLAUDE = "claude-sonnet-4-20250514"
GEMINI = "gemini-2.5-flash"


@pytest.mark.parametrize(
    ("channel_type", "models", "query", "family", "path"),
    [
        (1, "gpt-4o-mini", "endpoint_type=openai", "openai", "/v1/chat/completions"),
        (1, "gpt-4o-mini", "endpoint_type=openai&stream=true", "openai", "/v1/chat/completions"),
        (1, "gpt-4o-mini", "endpoint_type=openai-response", "responses", "/v1/responses"),
        (1, "gpt-4o-mini", "endpoint_type=openai-response-compact", "responses", "/v1/responses/compact"),
        (14, CLAUDE, "endpoint_type=anthropic", "claude", "/v1/messages"),
        (14, CLAUDE, "endpoint_type=anthropic&stream=true", "claude", "/v1/messages"),
        (24, GEMINI, "endpoint_type=gemini", "gemini", f"/v1beta/models/{GEMINI}:generateContent"),
        (
            24,
            GEMINI,
            "endpoint_type=gemini&stream=true",
            "gemini",
            f"/v1beta/models/{GEMINI}:streamGenerateContent",
        ),
        (1, "text-embedding-3-small", "endpoint_type=embeddings", "openai", "/v1/embeddings"),
        (1, "rerank-v1", "endpoint_type=jina-rerank", "openai", "/v1/rerank"),
        (1, "dall-e-3", "endpoint_type=image-generation", "openai", "/v1/images/generations"),
        # no endpoint type: guessed from the model name
        (1, "text-embedding-3-small", "", "openai", "/v1/embeddings"),
        (1, "bge-reranker-v2", "", "openai", "/v1/rerank"),
        (1, "gpt-5-codex", "", "responses", "/v1/responses"),
        (1, "gpt-4o-mini-openai-compact", "", "responses", "/v1/responses/compact"),
    ],
)
async def test_every_endpoint_type(
    gateway: Gateway,
    mock: MockUpstreamThread,
    channel_type: int,
    models: str,
    query: str,
    family: str,
    path: str,
) -> None:
    channel_id = await add_channel(gateway, mock.url, channel_type=channel_type, models=models)
    async with client_for(gateway) as client:
        root = await setup_root(client)
        before = len(mock.requests())
        answer = (await root.get(f"/api/channel/test/{channel_id}?{query}")).json()
    assert answer["success"] is True, answer
    sent = mock.requests()[before:]
    assert len(sent) == 1 and (sent[0].family, sent[0].path) == (family, path)
    assert sent[0].stream is ("stream=true" in query)


async def test_a_failing_endpoint_type_reports_the_upstream_error(
    gateway: Gateway, mock: MockUpstreamThread
) -> None:
    channel_id = await add_channel(gateway, mock.url, channel_type=14, models=CLAUDE)
    async with client_for(gateway) as client:
        root = await setup_root(client)
        answer = (await root.get(f"/api/channel/test/{channel_id}?endpoint_type=embeddings")).json()
    assert answer["success"] is False and "Claude channels have no embeddings API" in answer["message"]


# -- the import graph ---------------------------------------------------------------------------

_CHAIN = (
    "newapi.runtime",
    "newapi.jobs",
    "newapi.jobs.channel_tests",
    "newapi.channel_test",
    "newapi.api.channels",
)


@pytest.mark.parametrize("first", _CHAIN)
def test_the_channel_test_runtime_and_jobs_import_in_any_order(first: str) -> None:
    others = [m for m in _CHAIN if m != first]
    names = [first, *others]
    code = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _function_level_imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("newapi"):
                    found.append(f"{path.name}:{inner.lineno} {inner.module}")
    return found


def _runtime_imports_outside_type_checking(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}:{node.lineno}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "newapi.runtime"
    ]


def test_no_import_in_the_circle_is_hidden_in_a_function() -> None:
    files = [
        ROOT / "newapi/runtime.py",
        ROOT / "newapi/jobs/__init__.py",
        ROOT / "newapi/jobs/channel_tests.py",
        ROOT / "newapi/api/channels.py",
        *sorted((ROOT / "newapi/channel_test").glob("*.py")),
    ]
    hidden = [
        line
        for path in files
        for line in _function_level_imports(path)
        if "channel_test" in line or "jobs" in line or "newapi.runtime" in line
    ]
    assert hidden == []
    jobs = sorted((ROOT / "newapi/jobs").glob("*.py"))
    assert [line for path in jobs for line in _runtime_imports_outside_type_checking(path)] == []
    assert not (ROOT / "newapi/relay/channel_test.py").exists()
