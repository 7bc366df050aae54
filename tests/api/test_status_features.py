"""``/api/status`` advertises only features that have code here, whatever their options say."""

from __future__ import annotations

from pathlib import Path

import httpx

from newapi.api.features import NOT_IMPLEMENTED
from newapi.app import Gateway
from tests.api.conftest import set_option
from tests.support.provision import add_account

# Features that exist, each set away from its default: status must report them as configured.
EXISTING = {
    "register_enabled": ("RegisterEnabled", "false", False),
    "password_login_enabled": ("PasswordLoginEnabled", "false", False),
    "password_register_enabled": ("PasswordRegisterEnabled", "false", False),
    "enable_data_export": ("DataExportEnabled", "false", False),
    "default_collapse_sidebar": ("DefaultCollapseSidebar", "true", True),
    "self_use_mode_enabled": ("SelfUseModeEnabled", "true", True),
    "system_name": ("SystemName", "Gateway 13", "Gateway 13"),
}


async def test_unimplemented_features_are_off_even_when_switched_on(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    before = (await client.get("/api/status")).json()["data"]
    for flag in NOT_IMPLEMENTED:
        assert before[flag] is False, flag
    for missing in NOT_IMPLEMENTED.values():
        await set_option(gateway, missing.option, "true")
    for option, value, _ in EXISTING.values():
        await set_option(gateway, option, value)
    assert gateway.runtime is not None
    assert all(gateway.runtime.options.get_bool(m.option) for m in NOT_IMPLEMENTED.values())

    status = (await client.get("/api/status")).json()["data"]
    assert {flag: status[flag] for flag in NOT_IMPLEMENTED} == dict.fromkeys(NOT_IMPLEMENTED, False)
    assert {flag: status[flag] for flag in EXISTING} == {
        flag: want for flag, (_, _, want) in EXISTING.items()
    }


async def test_each_unimplemented_feature_really_has_no_route(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    """When a feature's code lands, this fails until the feature leaves NOT_IMPLEMENTED."""
    account = await add_account(gateway)
    for flag, missing in NOT_IMPLEMENTED.items():
        if not missing.route:
            continue
        method, path = missing.route.split(" ", 1)
        answer = await client.request(
            method, path, headers={"Authorization": f"Bearer {account.key}"}, json={"prompt": "a cat"}
        )
        assert answer.status_code == 404 and "Invalid URL" in answer.text, (flag, answer.text)


def test_turnstile_has_no_verifier() -> None:
    # Turnstile is middleware in New API: verifying a token needs the secret key.
    source = Path(__file__).resolve().parents[2] / "newapi"
    readers = [
        str(path)
        for path in source.rglob("*.py")
        if "TurnstileSecretKey" in path.read_text() and path.name != "defaults.py"
    ]
    assert readers == [], "a Turnstile verifier exists: take turnstile_check out of NOT_IMPLEMENTED"
