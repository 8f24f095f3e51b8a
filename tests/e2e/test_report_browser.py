"""The report in a real browser: sample → steps → report.html → headless Chromium.

The page must render with no console errors and no network requests, and
show every chart the report promises (``outreach.report.CHARTS``), each a
non-empty inline SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.factory import make_sender, make_source
from connectors.store import Store
from flows import steps
from outreach.report import CHARTS
from outreach.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def report_html(settings: Settings, tmp_path: Path) -> Path:
    from outreach.sample import SAMPLE_AS_OF, generate

    sample = generate(tmp_path / "sample")
    with Store.open(settings.store.url) as store:
        steps.sync(store, make_source(settings, f"mbox:{sample.mbox_path}"), settings)
        steps.detect(store, settings, SAMPLE_AS_OF)
        steps.draft(store, settings, SAMPLE_AS_OF)
        pending = [r["id"] for r in store.list_drafts(status="pending_review")]
        steps.approve(store, settings, pending, "test", SAMPLE_AS_OF)
        sender = make_sender(settings)
        try:
            steps.send(store, sender, settings, SAMPLE_AS_OF)
        finally:
            sender.close()
        result = steps.report(store, settings, tmp_path / "report", SAMPLE_AS_OF)
    return Path(result.html_path)


def test_report_renders_in_chromium_with_every_chart(browser: Any, report_html: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url) if not req.url.startswith("file:") else None)
    page.goto(report_html.as_uri())
    page.wait_for_load_state("load")
    shot = Path(__import__("os").environ.get("REPORT_SHOT_DIR", str(tmp_path))) / "report.png"
    page.screenshot(path=str(shot), full_page=True)

    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
    assert errors == []
    assert requests == [], f"the report fetched from the network: {requests}"
    present = page.eval_on_selector_all("svg[data-chart]", "els => els.map(e => e.dataset.chart)")
    assert sorted(present) == sorted(CHARTS)
    for name in CHARTS:
        box = page.locator(f'svg[data-chart="{name}"]').bounding_box()
        assert box and box["width"] > 300 and box["height"] > 60, (name, box)
    # The sample has data for these, so they are drawn charts, not "no data" panels.
    for name in ("response-times", "backlog-age", "outreach-by-kind", "themes", "load-capacity"):
        assert page.locator(f'svg[data-chart="{name}"] path').count() > 5, name
    assert "What upsets customers most" in page.inner_text("body")
    assert page.locator(".theme q").count() >= 3
    html = report_html.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
