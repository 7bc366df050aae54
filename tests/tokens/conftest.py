"""tiktoken, built offline from the rank files the package ships, as the reference counter."""

from __future__ import annotations

import hashlib
import pathlib
import shutil
from collections.abc import Iterator

import pytest
import tiktoken

DATA = pathlib.Path(__file__).parents[2] / "newapi" / "tokens" / "data"
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tiktoken.Encoding]]:
    """tiktoken's own o200k_base / cl100k_base definitions, fed our files through its cache.

    tiktoken looks a rank file up in TIKTOKEN_CACHE_DIR under the SHA-1 of its URL and accepts it
    when the SHA-256 matches the one openai_public.py pins, so nothing is downloaded.
    """
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name in ("o200k_base", "cl100k_base"):
        key = hashlib.sha1(URL.format(name).encode()).hexdigest()  # tiktoken's cache key
        shutil.copy(DATA / f"{name}.tiktoken", cache / key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        yield {name: tiktoken.get_encoding(name) for name in ("o200k_base", "cl100k_base")}
