"""The browser the user-facing tests drive (headless Chromium + Selenium) starts and renders a page.

When this fails, the notebook-widget and course-site tests fail for the same reason: look here first.
"""
import pytest

pytestmark = pytest.mark.browser  # headless Chromium (browser tests are slow too: tests/conftest.py)


def test_browser_opens_a_page(browser, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><h1 id='greeting'>hello</h1></body></html>")
    browser.get(page.as_uri())
    assert browser.find_element("id", "greeting").text == "hello"
