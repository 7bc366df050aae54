"""Every console page in light, dark and phone: axe-core finds no serious or critical violation, a
phone never scrolls sideways, and text stays readable against its background in both themes.

One install per module; the first tests visit the first-run page before the install is set up, then
the install is seeded (console_tour.seed) and every other page is visited as a visitor, as root and
as a plain user. axe's findings per page and mode are kept in build/e2e-everywhere/axe.json.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.console_tour import (
    MODES,
    PUBLIC,
    SETUP,
    SHOTS,
    SIGNED_IN,
    Contexts,
    Install,
    Stop,
    axe,
    contrast,
    describe,
    install,
    is_dark,
    seeded,
    serious,
    sideways,
    tabs,
    visit,
)
from tests.e2e.test_console import no_errors, watch

pytestmark = pytest.mark.e2e
# Fixtures: the shared install and browser contexts, and part 1's error watch.
__all__ = ["install", "no_errors", "seeded", "tabs", "watch"]

# WCAG AA for body text; the few large headings pass this too.
AA = 4.5
TEXT = "h1, h2, h3, p, label, th, td, a, button, span, li, dt, dd"


FINDINGS: dict[str, object] = {}


def check(tabs: Contexts, mode: str, stop: Stop) -> None:
    page = tabs.page(mode, stop.who)
    visit(page, tabs.base, stop)
    assert is_dark(page) == (mode == "dark"), "the first visit follows the system's colour scheme"
    found = axe(page)
    FINDINGS[f"{mode}/{stop.name}"] = {v["id"]: v["impact"] for v in found}
    (SHOTS / "axe.json").write_text(json.dumps(FINDINGS, indent=1, sort_keys=True) + "\n")
    page.screenshot(path=str(SHOTS / f"everywhere-{mode}-{stop.name}.png"))
    assert serious(found) == [], describe(serious(found))
    measured = [c for c in contrast(page, TEXT) if c["text"]]
    assert len(measured) >= 5, measured
    low = [c for c in measured if c["ratio"] < AA]
    assert low == [], low[:10]
    if mode == "phone":
        wide = sideways(page)
        assert wide["scroll"] <= wide["width"], wide


@pytest.mark.parametrize("mode", list(MODES))
def test_setup_page_before_the_first_run(tabs: Contexts, mode: str) -> None:
    check(tabs, mode, SETUP)


@pytest.mark.parametrize("stop", PUBLIC + SIGNED_IN, ids=str)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_page(seeded: Install, tabs: Contexts, mode: str, stop: Stop) -> None:
    check(tabs, mode, stop)
