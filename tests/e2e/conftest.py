"""The official SDK clients of the e2e modules whose module-scoped ``gateway`` fixture yields
``(base URL, an unlimited key, the signed-in admin client)``. A module with a gateway of
another shape defines its own fixtures of these names, which take precedence."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types


@pytest.fixture
def client(gateway: tuple[str, str, httpx.Client]) -> Iterator[openai.OpenAI]:
    base, key, _ = gateway
    # closed after each test: an SDK left open warns of its socket at exit, failing the run
    with openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.fixture
def claude_sdk(gateway: tuple[str, str, httpx.Client]) -> Iterator[anthropic.Anthropic]:
    base, key, _ = gateway
    with anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.fixture
def genai_sdk(gateway: tuple[str, str, httpx.Client]) -> genai.Client:
    base, key, _ = gateway
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))
