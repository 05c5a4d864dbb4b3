"""The dashboard in a real browser: headless Chromium (Selenium) on the service
`ignorerate serve` builds (`build_service`, its clock fixed at AS_OF, served by uvicorn),
on SQLite and PostgreSQL with the demo's generated data imported through the CSV import,
signed in through the local OpenID Connect provider (tests/fake_oidc.py) by following
its redirects as a person's browser does.

A manager clicks from the overview to their team, to the leads and to a lead; the
figures read off the pages equal `ignorerate report --format json` (run as a command,
`--as-of` the server's moment); the language switch changes the words and <html lang>;
the CSV Chromium downloads holds the rows the list shows; every chart carries its data
as a table; no page scrolls sideways on a 390x844 phone; every page passes axe-core's
checks (no violation of impact serious or critical) and our own page-structure checks;
and with JavaScript off the overview, a sort link, the leads' filter form and the CSV
still work.

axe-core is not part of the repository: it is installed by name with npm into pytest's
cache the first time (where npm or the network is missing, the accessibility checks skip
locally and fail under CI=true, as Chromium's absence does).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.clock import FixedClock
from bot.config import read_environment
from bot.serve import build_service
from bot.web.dashboard import CSV_HEAD
from tests.conftest import BACKENDS
from tests.e2e.chromium import chromium, missing
from tests.e2e.dashboard_data import (
    AS_OF,
    FIELDS,
    MANAGER,
    RATES,
    SESSION_SECRET,
    Later,
    generated_site,
    same_counts,
    shown_rate,
)
from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOidc
from tests.fakes import serve

REPO = Path(__file__).resolve().parents[2]
DESKTOP = (1280, 1000)
PHONE = (390, 844)
TEAM = "enterprise"  # the manager's one team
# axe-core, fetched by name at test time, never committed; a pinned version keeps the
# rules the same from run to run
AXE = "axe-core@4.14.1"
BLOCKING = ("serious", "critical")
ATTRS = [f"data-{f.replace('_', '-')}" for f in (*FIELDS, *RATES)] + [
    "data-median-first-action-seconds"
]


# ------------------------------------------------------------------ the site


@dataclass
class Site:
    url: str
    provider: FakeOidc
    cli_env: dict[str, str]

    def report(self, period: str, team: str) -> dict[str, Any]:
        """`ignorerate report --format json`, run as a command at the server's moment."""
        command = ["report", period, "--team", team, "--as-of", AS_OF.isoformat()]
        done = subprocess.run(  # noqa: S603 (our own command, arguments from this test)
            [sys.executable, "-m", "bot", *command, "--format", "json"],
            env={**os.environ, **self.cli_env},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    provider: FakeOidc,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Site]:
    out = tmp_path_factory.mktemp(f"browser-{request.param}")
    _, cli_env, settings = generated_site(request, out, sqlite_template)
    later = Later()
    with serve(later) as public:
        environment = read_environment(
            {
                "IGNORERATE_SESSION_SECRET": SESSION_SECRET,
                "IGNORERATE_OIDC_CLIENT_ID": CLIENT_ID,
                "IGNORERATE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "IGNORERATE_OIDC_ISSUER": provider.url,
                "PUBLIC_BASE_URL": public,
            }
        )
        # `serve`'s own build; the clock fixed where the report is asked for
        service = build_service(settings, environment, FixedClock(AS_OF), scheduler_interval=None)
        later.app = service.app
        try:
            yield Site(public, provider, cli_env)
        finally:
            service.stop()


# ------------------------------------------------------------------ the browser


def downloading(driver: webdriver.Chrome, folder: Path) -> None:
    """Downloads go to `folder` without asking (DevTools' Page.setDownloadBehavior)."""
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )


def browser(folder: Path, *, javascript: bool = True) -> webdriver.Chrome:
    downloads = folder / "downloads"
    downloads.mkdir(parents=True)
    prefs: dict[str, Any] = {
        "intl.accept_languages": "en",
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    driver = chromium(folder / "profile", size=DESKTOP, prefs=prefs)
    downloading(driver, downloads)
    driver.set_script_timeout(60)
    return driver


def sign_in(driver: webdriver.Chrome, site: Site) -> None:
    """The manager opens the dashboard; the browser follows the redirects to the
    provider and back, and lands on the overview."""
    site.provider.sign_in_as(MANAGER)
    driver.get(f"{site.url}/")
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Ignore rate overview")
    assert driver.current_url == f"{site.url}/"


def wait_for(driver: webdriver.Chrome, done: Any) -> None:
    # a page that is being replaced answers with stale elements, or with "Node with given
    # id does not belong to the document": keep looking past both
    WebDriverWait(
        driver, 20, ignored_exceptions=[StaleElementReferenceException, WebDriverException]
    ).until(done)


def follow(driver: webdriver.Chrome, element: WebElement) -> None:
    """Clicks a link or button and waits for the next page."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def loaded(d: webdriver.Chrome) -> bool:
        try:
            old.tag_name  # noqa: B018 (raises once the old page is gone)
        except StaleElementReferenceException:
            return bool(d.find_element(By.TAG_NAME, "h1").text)
        return False

    wait_for(driver, loaded)


def attributes(element: WebElement, names: list[str]) -> dict[str, str]:
    return {name: element.get_dom_attribute(name) or "" for name in names}


def h1(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


@pytest.fixture(scope="module")
def manager_folder(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manager's browser profile and downloads."""
    return tmp_path_factory.mktemp("manager")


@pytest.fixture(scope="module")
def manager(site: Site, manager_folder: Path) -> Iterator[webdriver.Chrome]:
    """The manager's Chromium, signed in, JavaScript on (so axe-core can run)."""
    driver = browser(manager_folder)
    try:
        sign_in(driver, site)
        yield driver
    finally:
        driver.quit()


# ------------------------------------------------------------------ checks in the page


@pytest.fixture(scope="session")
def axe_source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's script, installed by name with npm into pytest's cache (outside the
    repository's tracked files) the first time; without the cache (-p no:cacheprovider),
    into this run's temporary directory."""
    cache = getattr(request.config, "cache", None)
    name = AXE.replace("@", "-")
    folder = cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            missing(f"npm absent: the accessibility checks install {AXE} with it (.ci/run)")
        try:
            quiet = ["--no-save", "--no-package-lock", "--no-audit", "--no-fund"]
            done = subprocess.run(  # noqa: S603 (npm, installing the one package named here)
                [npm, "install", *quiet, "--prefix", str(folder), AXE],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            missing(f"npm install {AXE} did not finish in 300 s (no network?)")
        if done.returncode != 0 or not script.exists():
            missing(f"npm install {AXE} failed (no network?): {done.stderr[-500:]}")
    return script.read_text(encoding="utf-8")


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  (r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.failureSummary),
  }))),
  (e) => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]),
);
"""

# our own checks, beside axe's: the html has a language, one h1, heading levels never
# skip one, every table has a caption and column headers, every image and form control
# has a name
STRUCTURE = """
const problems = [];
if (!document.documentElement.lang) problems.push('html without lang');
const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
let level = 0;
for (const h of headings) {
  const next = Number(h.tagName[1]);
  if (next > level + 1) problems.push('heading skips a level: ' + h.tagName + ' ' + h.textContent);
  level = next;
}
for (const t of document.querySelectorAll('table')) {
  if (!t.caption || !t.caption.textContent.trim()) problems.push('table without caption');
  if (!t.querySelector('thead th[scope=col]')) problems.push('table without column headers');
}
for (const i of document.querySelectorAll('img')) {
  if (!i.hasAttribute('alt')) problems.push('img without alt');
}
for (const s of document.querySelectorAll('svg')) {
  const ids = (s.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
  const named = ids.map((id) => document.getElementById(id))
    .filter((e) => e && e.textContent.trim());
  if (s.getAttribute('role') !== 'img' || !ids.length || named.length !== ids.length)
    problems.push('svg without a text alternative');
}
for (const c of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!c.labels || !c.labels.length || !c.labels[0].textContent.trim())
    problems.push('form control without a label: ' + c.name);
}
return problems;
"""

# each chart: an image named by its title and description, and in its figure a table
# of the same weeks with a caption
CHARTS = """
return [...document.querySelectorAll('svg')].map((svg) => {
  const figure = svg.closest('figure');
  const table = figure && figure.querySelector('table');
  return {
    role: svg.getAttribute('role'),
    name: (svg.getAttribute('aria-labelledby') || '').split(/\\s+/)
      .map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim(),
    caption: table && table.caption ? table.caption.textContent.trim() : '',
    weeks: table ? [...table.querySelectorAll('tbody tr')].map((r) => r.dataset.week) : [],
  };
});
"""


def accessible(driver: webdriver.Chrome, axe: str) -> None:
    """axe-core finds nothing serious or critical; our own checks find nothing."""
    assert driver.execute_script(STRUCTURE) == [], driver.current_url
    if not driver.execute_script("return typeof axe === 'object'"):
        # execute_script runs outside the page's Content-Security-Policy, which allows
        # no script of the page's own
        driver.execute_script(axe)
    violations = driver.execute_async_script(AXE_RUN)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], (driver.current_url, blocking)


def charts_carry_their_data(driver: webdriver.Chrome) -> int:
    charts = driver.execute_script(CHARTS)
    for chart in charts:
        assert chart["role"] == "img"
        assert chart["name"]
        assert chart["caption"]
        assert len(chart["weeks"]) == 12
        assert all(chart["weeks"])
    # the data table opens from its summary, and is then shown
    for details in driver.find_elements(By.CSS_SELECTOR, "figure.chart details"):
        assert not details.find_element(By.TAG_NAME, "table").is_displayed()
        details.find_element(By.TAG_NAME, "summary").click()
        assert details.find_element(By.TAG_NAME, "table").is_displayed()
    return len(charts)


def no_sideways_scroll(driver: webdriver.Chrome) -> None:
    width, scrolled = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert width <= PHONE[0]
    assert scrolled <= width, (driver.current_url, scrolled, width)


# ------------------------------------------------------------------ the tests


def test_a_manager_clicks_from_the_overview_to_a_lead_and_the_figures_equal_the_report(
    site: Site, manager: webdriver.Chrome, axe_source: str
) -> None:
    driver = manager
    driver.get(f"{site.url}/")
    report = site.report("last-4-weeks", TEAM)

    # the overview: the manager's one team, its tile equal to the report
    [tile] = driver.find_elements(By.CSS_SELECTOR, "section[data-team]")
    assert tile.get_dom_attribute("data-team") == TEAM
    same_counts(attributes(tile, ATTRS), report["totals"])
    assert shown_rate(report["totals"]["ignore_rate"]) in tile.text
    assert charts_carry_their_data(driver) == 1
    accessible(driver, axe_source)

    # to the team, by its tile's heading
    follow(driver, tile.find_element(By.CSS_SELECTOR, "h2 a"))
    assert driver.current_url == f"{site.url}/teams/{TEAM}"
    assert h1(driver) == f"Team {TEAM}"
    same_counts(
        attributes(driver.find_element(By.CSS_SELECTOR, "section[data-team]"), ATTRS),
        report["totals"],
    )
    for group, key in (("rep", "rep"), ("source", "source")):
        rows = driver.find_elements(By.CSS_SELECTOR, f'table[data-group="{group}"] tr[data-key]')
        expected = report[f"by_{key}"]
        assert [r.get_dom_attribute("data-key") or None for r in rows] == [e[key] for e in expected]
        for row, want in zip(rows, expected, strict=True):
            same_counts(attributes(row, ATTRS), want)
    assert charts_carry_their_data(driver) == 1
    accessible(driver, axe_source)

    # to the leads, by the navigation
    follow(driver, driver.find_element(By.CSS_SELECTOR, 'header nav a[href="/leads"]'))
    assert h1(driver) == "Leads"
    rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-id]")
    assert rows
    assert {r.get_dom_attribute("data-team") for r in rows} == {TEAM}
    accessible(driver, axe_source)

    # to a lead, by its row's link
    first = rows[0].find_element(By.CSS_SELECTOR, "th a")
    name, lead_id = first.text, rows[0].get_dom_attribute("data-id")
    follow(driver, first)
    assert driver.current_url == f"{site.url}/leads/{lead_id}"
    assert h1(driver) == f"Lead: {name}"
    kinds = [
        li.get_dom_attribute("data-kind")
        for li in driver.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    ]
    assert kinds[0] == "handoff"
    accessible(driver, axe_source)


def test_the_language_switch_changes_the_words_and_html_lang(
    site: Site, manager: webdriver.Chrome, axe_source: str
) -> None:
    driver = manager
    driver.get(f"{site.url}/")
    assert driver.find_element(By.TAG_NAME, "html").get_dom_attribute("lang") == "en"
    follow(driver, driver.find_element(By.CSS_SELECTOR, 'a[hreflang="ja"]'))
    assert driver.find_element(By.TAG_NAME, "html").get_dom_attribute("lang") == "ja"
    assert h1(driver) == "無視率の概要"
    assert driver.find_element(By.CSS_SELECTOR, 'form[action="/logout"] button').text == (
        "サインアウト"
    )
    accessible(driver, axe_source)
    # remembered on the next page
    follow(driver, driver.find_element(By.CSS_SELECTOR, 'header nav a[href="/leads"]'))
    assert driver.find_element(By.TAG_NAME, "html").get_dom_attribute("lang") == "ja"
    assert h1(driver) == "リード一覧"
    accessible(driver, axe_source)
    follow(driver, driver.find_element(By.CSS_SELECTOR, 'a[hreflang="en"]'))
    assert driver.find_element(By.TAG_NAME, "html").get_dom_attribute("lang") == "en"
    assert h1(driver) == "Leads"


def listed_ids(driver: webdriver.Chrome) -> list[str]:
    """The ids of the leads listed, page after page by the "next" link."""
    seen: list[str] = []
    while True:
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-id]")
        seen += [r.get_dom_attribute("data-id") or "" for r in rows]
        following = driver.find_elements(By.CSS_SELECTOR, 'a[rel="next"]')
        if not following:
            return seen
        follow(driver, following[0])


def download(driver: webdriver.Chrome, folder: Path) -> bytes:
    """Clicks the CSV link; the file Chromium saved."""
    before = set(folder.iterdir())
    driver.find_element(By.PARTIAL_LINK_TEXT, "CSV").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p for p in set(folder.iterdir()) - before if p.suffix == ".csv"]
        if new:
            return new[0].read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"no CSV downloaded into {folder}: {sorted(folder.iterdir())}")


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets read UTF-8 by
    text = content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_HEAD
    return list(reader)


def filter_leads(driver: webdriver.Chrome, period: str, outcome: str) -> None:
    """Fills in the leads' filter form and sends it."""
    field = driver.find_element(By.CSS_SELECTOR, 'form.filters input[name="period"]')
    field.clear()
    field.send_keys(period)
    Select(driver.find_element(By.CSS_SELECTOR, 'select[name="outcome"]')).select_by_value(outcome)
    follow(driver, driver.find_element(By.CSS_SELECTOR, 'form.filters button[type="submit"]'))


def test_the_csv_chromium_downloads_holds_the_leads_listed(
    site: Site, manager: webdriver.Chrome, manager_folder: Path
) -> None:
    driver = manager
    driver.get(f"{site.url}/leads")
    filter_leads(driver, "2026-08-01..2026-11-23", "on_time")
    assert "outcome=on_time" in driver.current_url
    seen = listed_ids(driver)
    assert len(seen) > 50  # more than one page
    rows = csv_rows(download(driver, manager_folder / "downloads"))
    assert [r["id"] for r in rows] == seen
    assert {r["outcome"] for r in rows} == {"on_time"}
    assert {r["team"] for r in rows} == {TEAM}


def test_no_page_scrolls_sideways_on_a_phone(site: Site, manager: webdriver.Chrome) -> None:
    driver = manager
    driver.set_window_size(*PHONE)
    try:
        driver.get(f"{site.url}/")
        no_sideways_scroll(driver)
        for lang in ("ja", "en"):
            follow(driver, driver.find_element(By.CSS_SELECTOR, f'a[hreflang="{lang}"]'))
            no_sideways_scroll(driver)
        follow(driver, driver.find_element(By.CSS_SELECTOR, "section[data-team] h2 a"))
        no_sideways_scroll(driver)
        for details in driver.find_elements(By.TAG_NAME, "details"):
            details.find_element(By.TAG_NAME, "summary").click()
        no_sideways_scroll(driver)  # the chart's table open too
        follow(driver, driver.find_element(By.CSS_SELECTOR, 'header nav a[href="/leads"]'))
        no_sideways_scroll(driver)
        # the list's table is wider than the phone: it scrolls inside its own box
        box = driver.find_element(By.CSS_SELECTOR, "div.scroll")
        inner, outer = driver.execute_script(
            "return [arguments[0].scrollWidth, arguments[0].clientWidth]", box
        )
        assert inner > outer
        follow(driver, driver.find_element(By.CSS_SELECTOR, "tr[data-id] th a"))
        no_sideways_scroll(driver)
    finally:
        driver.set_window_size(*DESKTOP)


def test_with_javascript_off_the_pages_links_forms_and_csv_work(site: Site, tmp_path: Path) -> None:
    driver = browser(tmp_path, javascript=False)
    try:
        # the preference holds: a page's own script does not run
        driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
        assert driver.title == "off"

        sign_in(driver, site)
        [tile] = driver.find_elements(By.CSS_SELECTOR, "section[data-team]")
        assert tile.get_dom_attribute("data-team") == TEAM

        # a team's table sorts by a column's link
        follow(driver, tile.find_element(By.CSS_SELECTOR, "h2 a"))
        header = 'table[data-group="source"] th[data-column="counted"]'
        follow(driver, driver.find_element(By.CSS_SELECTOR, f"{header} a"))
        assert "sort=counted" in driver.current_url
        sorted_by = driver.find_element(By.CSS_SELECTOR, header).get_dom_attribute("aria-sort")
        assert sorted_by in ("ascending", "descending")
        counted = [
            int(r.get_dom_attribute("data-counted") or "")
            for r in driver.find_elements(
                By.CSS_SELECTOR, 'table[data-group="source"] tr[data-key]'
            )
        ]
        assert counted == sorted(counted, reverse=sorted_by == "descending")

        # the leads' filter form, then the CSV of what it shows
        follow(driver, driver.find_element(By.CSS_SELECTOR, 'header nav a[href="/leads"]'))
        filter_leads(driver, "2026-10-01..2026-11-23", "late")
        assert "outcome=late" in driver.current_url
        seen = listed_ids(driver)
        assert seen
        rows = csv_rows(download(driver, tmp_path / "downloads"))
        assert [r["id"] for r in rows] == seen
        assert {r["outcome"] for r in rows} == {"late"}
    finally:
        driver.quit()
