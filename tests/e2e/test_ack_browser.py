"""A real browser on the one-click page: headless Chromium (Debian's `chromium` and
`chromium-driver`) opens a Teams link, presses "Call", and lands on the result, with
the cookie, the form and the Content-Security-Policy as a person's browser applies them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine

from tests.e2e.chromium import chromium as start_chromium
from tests.e2e.test_ack_links import NOW, Site, running_site

pytestmark = pytest.mark.one_backend  # the database is incidental here

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    with running_site(engine) as running:
        yield running


def test_a_person_opens_the_link_in_chromium_presses_call_and_the_call_is_recorded(
    site: Site, chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    lead_id = site.lead()

    chromium.get(site.link(lead_id))
    call = chromium.find_element(By.CSS_SELECTOR, 'button[value="contacted:call"]')
    # the inline stylesheet applies only if the CSP's hash matches it
    assert call.value_of_css_property("background-color") == "rgba(36, 87, 214, 1)"
    assert site.actions() == []  # the page shown, nothing recorded yet
    call.click()
    # the old page's heading goes stale as the new page loads: keep looking past that.
    # Chromium may also answer "Node with given id does not belong to the document" (a
    # plain WebDriverException) for a heading found just before the old page went.
    WebDriverWait(
        chromium, 10, ignored_exceptions=[StaleElementReferenceException, WebDriverException]
    ).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Recorded")

    body = chromium.find_element(By.TAG_NAME, "body").text
    assert "Recorded: a@example.com contacted this lead by Call." in body
    shot = tmp_path / "result.png"
    assert chromium.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    [action] = site.actions()
    assert (action["kind"], action["channel"], action["via"]) == ("contacted", "call", "teams")
    assert action["actor_id"] == site.rep_id("a@example.com")
    assert site.view(lead_id).first_action_at is not None
    assert action["at"].replace(tzinfo=NOW.tzinfo) == NOW
