"""NEWAPI_SERVER: which HTTP server ``newapi serve`` runs."""

from __future__ import annotations

import pytest

from newapi.settings import SettingsError, load_settings


def test_the_server_setting() -> None:
    assert load_settings({}).server == "http1"
    assert load_settings({"NEWAPI_SERVER": " Granian "}).server == "granian"
    with pytest.raises(SettingsError, match="NEWAPI_SERVER must be one of http1, granian"):
        load_settings({"NEWAPI_SERVER": "uvicorn"})
