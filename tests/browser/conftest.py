"""Fixtures every browser test uses: one headless Chromium per test, and Playwright's `expect`."""

from __future__ import annotations

import pytest

from tests.browser.support import chromium


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def expect():
    return pytest.importorskip("playwright.sync_api").expect
