"""The supervisor's dashboard and donor report in a real browser: every chart image loads and draws bars (checked
on a screenshot), the numbers behind each chart are one click away, a figure link opens its case list, and the
pages raise no Content-Security-Policy violation or console error."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from casemgmt.demo import build_demo
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, chromium, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path):
    """The demo organisations with 40 cases spread over 18 months, on SQLite, served over real HTTP."""
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    with app.app_context():
        db.create_all()
        build_demo(factories.PASSWORD, 40, seed=7)
        db.session.remove()
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def supervisor(server):
    with chromium() as browser:
        session = Session(browser, server, "supervisor")
        session.login("supervisor")
        yield session
        session.close()


def _bar_pixels(png: bytes) -> int:
    """Pixels in the charts' first series colour (pygal draws the palette's blue with some transparency)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if b > 200 and r < 140 and 80 < g < 190)


def _check_charts(session: Session, minimum: int) -> int:
    page = session.page
    figures = page.locator("figure.report-chart")
    assert figures.count() >= minimum
    drawn = 0
    for i in range(figures.count()):
        figure = figures.nth(i)
        figure.scroll_into_view_if_needed()
        image = figure.locator("img.chart-image")
        if image.count() == 0:  # a chart with nothing to show, or all of it hidden in the shared version, says so
            text = figure.inner_text()
            assert "Nothing to show" in text or "hidden in the version to share" in text, text
            continue
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), f"chart {i} did not load"
        assert image.get_attribute("alt").startswith("Chart: ")
        shot = image.screenshot()
        assert _bar_pixels(shot) > 500, f"chart {i} ({figure.locator('figcaption').inner_text()}) draws no bars"
        # The numbers travel with the chart.
        figure.locator("summary").click()
        table = figure.locator("table")
        assert table.is_visible() and table.locator("tbody tr").count() >= 1
        drawn += 1
    return drawn


def _no_page_errors(session: Session) -> None:
    assert session.csp_violations() == []
    assert session.unexplained_errors() == []
    assert session.failed_assets == []


def test_dashboard_charts_render_and_figures_open_their_cases(supervisor):
    page = supervisor.page
    page.goto("/reports/")
    assert_styled(page)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert _check_charts(supervisor, minimum=6) >= 6
    supervisor.screenshot("reports-dashboard.png")

    # A headline figure links to exactly that many cases.
    link = page.locator("a[href*='figure=cohort']").first
    expected = int(link.inner_text().strip())
    link.click()
    page.wait_for_url("**/cases/**")
    assert page.get_by_text("From the report:").is_visible()
    assert page.get_by_text(f"{expected} cases").first.is_visible()
    _no_page_errors(supervisor)


def test_filters_change_the_figures(supervisor):
    page = supervisor.page
    page.goto("/reports/")
    total = int(page.locator("a[href*='figure=cohort']").first.inner_text())
    # The long list of countries is a searchable select (forms.js): type, then Enter picks the match.
    page.get_by_role("combobox", name="Citizenship", exact=True).focus()
    page.keyboard.type("haiti")
    page.locator("#citizenship-ts-dropdown .option.active", has_text="Haiti").wait_for()
    page.keyboard.press("Enter")
    # Straight after choosing, while the select still has the focus: its box keeps its height, so the click lands.
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**citizenship=HT**")
    haitians = int(page.locator("a[href*='figure=cohort']").first.inner_text())
    assert 0 < haitians < total
    _no_page_errors(supervisor)


def test_donor_report_charts_render_in_both_versions(supervisor):
    page = supervisor.page
    page.goto("/reports/donor")
    assert page.get_by_role("heading", name="Donor report").is_visible()
    assert _check_charts(supervisor, minimum=4) >= 4
    supervisor.screenshot("reports-donor.png")
    page.get_by_role("link", name="Version to share", exact=True).click()
    page.wait_for_url("**shared=1**")
    assert _check_charts(supervisor, minimum=1) >= 1
    supervisor.screenshot("reports-donor-shared.png")
    _no_page_errors(supervisor)
