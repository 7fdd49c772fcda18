"""The study report in a real browser: Debian's headless Chromium driven by Playwright.

No browser is downloaded: Playwright launches the system ``chromium`` (``.ci/run`` installs
it). Without it these tests skip, and fail under ``RADIOME_REQUIRE_DATA=1`` (CI).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import require_module

SECTIONS = ("cohort", "quality", "methods", "reliability", "harmonisation", "models",
            "longitudinal", "checklists")


@pytest.fixture(scope="module")
def browser():
    sync_api = require_module("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("RADIOME_REQUIRE_DATA") == "1":
            pytest.fail("chromium is not installed and RADIOME_REQUIRE_DATA=1", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(params=["study", "demo"])
def report(request):
    """The report of the stored reliability + model study, and that of ``radiome demo``."""
    return request.getfixturevalue(request.param).report


def _open(browser, report, width: int):
    """A page of ``width`` CSS pixels on the report; its console errors and failed requests."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url[:80]}"))
    page.goto(report.as_uri(), wait_until="load")
    return page, problems


def test_report_loads_from_file_without_console_errors_or_failed_requests(browser, report):
    page, problems = _open(browser, report, 1280)
    assert page.title().startswith("radiome study report")
    assert problems == []
    page.close()


def test_every_image_has_loaded_and_has_alt_text(browser, report):
    page, _ = _open(browser, report, 1280)
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
    assert len(images) >= 3
    assert [i for i in images if not (i[0] and i[1] > 0 and i[2].strip())] == []
    page.close()


def test_every_in_page_link_resolves_to_an_element(browser, report):
    page, _ = _open(browser, report, 1280)
    targets = page.eval_on_selector_all(
        "a[href^='#']", "els => els.map(e => [e.getAttribute('href'),"
        " document.getElementById(e.getAttribute('href').slice(1)) !== null])")
    assert len(targets) >= len(SECTIONS)
    assert [href for href, found in targets if not found] == []
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_page_is_usable_at_desktop_and_phone_widths(browser, report, width, tmp_path):
    page, problems = _open(browser, report, width)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    page.click("nav a[href='#models']")
    assert page.evaluate("location.hash") == "#models"
    top = page.evaluate("document.getElementById('models').getBoundingClientRect().top")
    assert abs(top) < 5
    for section in SECTIONS:
        path = tmp_path / f"{width}-{section}.png"
        page.locator(f"#{section}").screenshot(path=str(path))
        assert path.stat().st_size > 1000
    assert problems == []
    page.close()


def test_clicking_a_quality_picture_enlarges_it(browser, study):
    page, _ = _open(browser, study.report, 1280)
    thumb = page.locator("button.thumb").first
    small = thumb.locator("img").evaluate("e => e.getBoundingClientRect().width")
    thumb.click()
    assert page.locator("#zoom").evaluate("d => d.open")
    big = page.locator("#zoom-body img")
    assert big.evaluate("e => e.naturalWidth") > 0
    assert big.evaluate("e => e.getBoundingClientRect().width") > small
    page.click("#zoom button")
    assert not page.locator("#zoom").evaluate("d => d.open")
    page.close()


def test_report_prints_to_pdf(browser, report, tmp_path):
    page, _ = _open(browser, report, 1280)
    pdf = page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.close()
