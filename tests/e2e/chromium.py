"""Headless Chromium for the browser tests: Debian's `chromium` and `chromium-driver`.
Where they are missing a test skips, naming the packages; under CI=true it fails
(README.md), and .ci/run installs them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# no network beyond loopback here: Chromium must not try to phone home meanwhile
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE = (420, 900)  # a phone's width, the one-click page's reader


def missing(message: str) -> NoReturn:
    """What the machine lacks: a skip locally, a failure under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium(
    profile: Path, *, size: tuple[int, int] = PHONE, prefs: dict[str, Any] | None = None
) -> webdriver.Chrome:
    """A headless Chromium with its own profile directory, the window `size`, and
    Chrome preferences `prefs`."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        missing(
            f"{' and '.join(absent)} absent: apt-get install -y chromium chromium-driver "
            "(.ci/run does)"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.add_argument(f"--user-data-dir={profile}")
    if prefs:
        options.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
