"""The firm's page in headless Chromium against the long-running local stack (``make test-browser``).

``make test`` leaves this folder out (pyproject's ``norecursedirs``); ``make test-browser`` installs
Debian's chromium and chromium-driver and the pinned selenium, then runs it.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from devstack.demo.run import demo_scenario
from devstack.demo.up import DemoSite, demo_site
from hardcost.rules import tenant_status as lifecycle

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))
FIXED_TXN = "1009"  # a demo check whose "Parking" line has no customer: NO_CUSTOMER


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with demo_site(port=0) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="hcs-chromium-")
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
        "--window-size=1280,1800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], seconds: float = 20) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def failure_rows(driver: WebDriver) -> dict[str, str]:
    # Read in one script call: the table is re-rendered on every refresh, so element handles go stale.
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#failures tbody tr[data-txn]'))"
        ".map(r => [r.dataset.txn + '/' + r.dataset.code, r.innerText]);"
    )
    return {str(key): str(text) for key, text in rows}


def test_a_firm_configures_sees_a_failure_fixes_it_in_qbo_and_sees_it_resolved(
    site: DemoSite, browser: WebDriver
) -> None:
    # Given the demo firm's page, opened with its token
    browser.get(site.page_url)
    wait_for(browser, lambda d: d.find_element(By.ID, "status").text == "Healthy")
    assert "#token=" not in browser.current_url  # the token left the address bar
    # When the firm chooses another Clio user for new entries and saves
    wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "default-user")).options) > 1)
    Select(browser.find_element(By.ID, "default-user")).select_by_visible_text("Sam Bookkeeper")
    assert Select(browser.find_element(By.ID, "source-account")).first_selected_option.get_attribute("value") == "64"
    browser.find_element(By.ID, "save-settings").click()
    # Then the settings are saved
    wait_for(browser, lambda d: d.find_element(By.ID, "settings-message").text == "Settings saved.")
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.default_user_id == 2
    # And the Sync Failures table shows the check with no customer, with its fix in plain words
    key = f"{FIXED_TXN}/NO_CUSTOMER"
    wait_for(browser, lambda d: key in failure_rows(d))
    assert 'Choose the client in the "Customer/project" column' in failure_rows(browser)[key]
    browser.save_screenshot(str(SCREENSHOTS / "hardcost-admin-page-before.png"))
    # When the bookkeeper gives the line a customer in QuickBooks and presses "Sync now"
    realm = demo_scenario().qbo.realm_id
    with site.lock:
        [purchase] = [p for p in site.stack.qbo.purchases(realm) if p["Id"] == FIXED_TXN]
        fixed = copy.deepcopy(purchase)
        first_customer = fixed["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"]
        for line in fixed["Line"]:
            detail = line.get("AccountBasedExpenseLineDetail", {})
            detail.setdefault("CustomerRef", first_customer)
        site.stack.qbo.update_purchase(realm, fixed)
    browser.find_element(By.ID, "sync").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "page-message").text.startswith("Sync started"))
    # Then the failure disappears from the page without reloading it
    wait_for(browser, lambda d: key not in failure_rows(d) and f"{FIXED_TXN}/" not in "".join(failure_rows(d)), 30)
    # And the activity shows it resolved (the mapper writes its log lines when its batch is done, so they
    # can arrive a refresh after the failure has gone)
    wait_for(browser, lambda d: "resolved" in d.find_element(By.ID, "activity").text, 30)
    assert FIXED_TXN in browser.find_element(By.ID, "activity").text
    browser.save_screenshot(str(SCREENSHOTS / "hardcost-admin-page.png"))


def test_the_page_refuses_to_load_without_a_token(site: DemoSite, browser: WebDriver) -> None:
    # Given a browser with no token for the firm
    # When it opens the page without one
    browser.get(f"{site.base_url}/admin/?tenant={site.tenant_id}")
    # Then it asks the user to sign in and shows no data
    message = wait_for(browser, lambda d: d.find_element(By.ID, "page-message").text)
    assert "Sign in first" in message
    assert failure_rows(browser) == {}


def forget_listed_qbo_lists(site: DemoSite) -> None:
    import boto3

    from hardcost.stores import keys

    table = boto3.resource("dynamodb", endpoint_url=site.aws_endpoint_url, region_name="us-east-1")
    table.Table(site.stack.environment["TABLE_NAME"]).delete_item(
        Key={"pk": keys.tenant_pk(site.tenant_id), "sk": keys.QBO_LISTS}
    )


def test_a_picker_that_could_not_load_never_overwrites_the_saved_choice(site: DemoSite, browser: WebDriver) -> None:
    # Given a firm whose accounts no read has listed yet (the picker then asks QBO; afterwards it reads the copy the
    # poll worker keeps, DESIGN.md §6), and QuickBooks failing to list them (down, or needing reconnecting)
    forget_listed_qbo_lists(site)
    site.stack.qbo.fail_next("503", count=50, path_contains="Account")
    try:
        # When the firm opens its page and saves its settings
        browser.get(site.page_url)
        wait_for(browser, lambda d: "could not be loaded" in d.find_element(By.ID, "source-account-note").text)
        assert not browser.find_element(By.ID, "source-account").is_enabled()
        browser.find_element(By.ID, "save-settings").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "settings-message").text == "Settings saved.")
    finally:
        site.stack.qbo.clear_faults()
    # Then the account it chose before is kept
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.source_account_id == "64"


def test_the_settings_preview_the_note_and_the_memo_reaches_it_once_turned_on(
    site: DemoSite, browser: WebDriver
) -> None:
    # Given the firm's page, its settings loaded (the memo off)
    browser.get(site.page_url)
    preview = lambda d: d.find_element(By.ID, "note-preview").text  # noqa: E731
    wait_for(browser, lambda d: preview(d).endswith("(QuickBooks Check 2018)"))
    before = preview(browser)
    assert not browser.find_element(By.ID, "include-memo").is_selected() and "[qbo:" not in before
    try:
        # When it turns the memo on and saves
        browser.find_element(By.ID, "include-memo").click()
        browser.find_element(By.ID, "save-settings").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "settings-message").text == "Settings saved.")
        # Then the setting is saved and the preview shows the memo at once
        assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.include_memo_in_note is True
        wait_for(browser, lambda d: preview(d) != before)
        assert "Paid at the counter" in preview(browser) and preview(browser).endswith("(QuickBooks Check 2018)")
        browser.save_screenshot(str(SCREENSHOTS / "hardcost-admin-page-note.png"))
    finally:
        now = site.stack.clock.now()
        site.stack.runtime.stores.tenants.transition(
            site.tenant_id, lambda t: lifecycle.settings_changed(t, {"include_memo_in_note": False}, now)
        )
