"""Every console page in light, dark and phone: axe-core finds no serious or critical violation, a
phone never scrolls sideways, and text stays readable against its background in both themes.

One install per module; the first tests visit the first-run page before the install is set up, then
the install is seeded (console_tour.seed) and every other page is visited as a visitor, as root and
as a plain user. axe's findings per page and mode are kept in build/e2e-console/axe.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.console_tour import (
    MODES,
    PUBLIC,
    SETUP,
    SIGNED_IN,
    Contexts,
    Install,
    Stop,
    axe,
    chromium,
    contrast,
    describe,
    fresh_install,
    is_dark,
    seed,
    serious,
    sideways,
    visit,
)
from tests.e2e.test_console import Watch, no_errors, watch
from tests.support.server import ROOT

pytestmark = pytest.mark.e2e
__all__ = ["no_errors", "watch"]

# Beside part 1's build/e2e-console/ (which its module empties when it starts).
SHOTS = ROOT / "build" / "e2e-everywhere"

# WCAG AA for body text; the few large headings pass this too.
AA = 4.5
TEXT = "h1, h2, h3, p, label, th, td, a, button, span, li, dt, dd"


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    with fresh_install(tmp_path_factory.mktemp("console-everywhere")) as running:
        yield running


@pytest.fixture(scope="module")
def tabs(install: Install, watch: Watch) -> Iterator[Contexts]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        contexts = Contexts(browser, install.url, watch)
        yield contexts
        contexts.close()


@pytest.fixture(scope="module")
def seeded(install: Install) -> Install:
    seed(install)
    return install


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
