"""The browser test's machinery: a demo site per viewport, headless Chromium (Debian's), axe-core (bundled by the
PyPI package axe-selenium-python, never a CDN), screenshots under /tmp."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from devstack.demo.up import DemoSite, demo_site

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def site(viewport: str) -> Iterator[DemoSite]:
    # One demo firm per viewport: the walk changes it (links, matters, settings), and each viewport walks it anew.
    with demo_site(port=0) as running:
        yield running


@pytest.fixture
def downloads() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="hcs-downloads-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def browser(viewport: str, downloads: Path) -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="hcs-chromium-")
    width, height = VIEWPORTS[viewport]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    # Headless windows are at least 500 px wide: the viewport is set as DevTools' device mode sets it.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": viewport == "phone"},
    )
    driver.viewport = viewport  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], seconds: float = 20) -> Any:
    # A page that navigates (a consent redirect) or re-renders under the wait leaves stale handles: look again.
    waiting = WebDriverWait(driver, seconds, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])
    return waiting.until(condition)


def check_page(driver: WebDriver, step: str, anchor: str | None = None) -> None:
    """At this step: a screenshot (of ``anchor``'s part of the page), no page-wide horizontal scroll, and no serious
    or critical axe-core violation."""
    viewport = getattr(driver, "viewport", "")
    if anchor:
        driver.execute_script("document.getElementById(arguments[0]).scrollIntoView();", anchor)
    assert driver.execute_script("return window.innerWidth") == VIEWPORTS[viewport][0]
    driver.save_screenshot(str(SCREENSHOTS / f"hardcost-admin-{step}-{viewport}.png"))
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{step}: the page scrolls sideways by {overflow}px at {viewport}"
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    blocking = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v.get("impact") in BLOCKING_IMPACTS
    ]
    assert blocking == [], f"{step} at {viewport}"
