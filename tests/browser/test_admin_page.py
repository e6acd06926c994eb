"""The firm's page in headless Chromium against the long-running local stack (``make test-browser``), walked at
1366×900 and at 390×844 (conftest.py), with axe-core at each step and screenshots in /tmp.

``make test`` leaves this folder out (pyproject's ``norecursedirs``); ``make test-browser`` installs
Debian's chromium and chromium-driver and the pinned selenium and axe-selenium-python, then runs it.
"""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from devstack.demo.run import SOURCE_ACCOUNT, demo_scenario
from devstack.demo.up import DemoSite
from hardcost.rules import tenant_status as lifecycle
from tests.browser.conftest import check_page, wait_for

FIXED_TXN = "1009"  # a demo check whose "Parking" line has no customer: NO_CUSTOMER
NEW_FIRM, NEW_REALM = "new-firm", "9130357766990011"
NOT_IN_CLIO = "17"  # Mark Cho: a QBO customer with no Clio contact of that name (NO_CLIO_CONTACT)
DONE = re.compile(r"Done: \d+ (created|resolved)")


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def failure_rows(driver: WebDriver) -> dict[str, str]:
    # Read in one script call: the table is re-rendered on every refresh, so element handles go stale.
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#failures tbody tr[data-txn]'))"
        ".map(r => [r.dataset.txn + '/' + r.dataset.code, r.innerText]);"
    )
    return {str(key): str(text) for key, text in rows}


def set_value(driver: WebDriver, element_id: str, value: str) -> None:
    """Date and month inputs take their value as the page's own script reads it (typing them is locale-bound)."""
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];", element_id, value)


def click(driver: WebDriver, css: str) -> None:
    element = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def test_a_new_firm_is_guided_through_three_steps(site: DemoSite, browser: WebDriver) -> None:
    # Given a firm that signed up (a token for it) and has connected nothing, signed in at Intuit and at Clio
    scenario = demo_scenario()
    with site.lock:
        site.stack.qbo.add_company(NEW_REALM, accounts=scenario.qbo.accounts, customers=scenario.qbo.customers)
        site.stack.clio.add_account(
            NEW_FIRM, users=[{"id": 91, "name": "Nina Owner", "account_owner": True, "enabled": True}]
        )
        site.stack.qbo.set_authorizing_realm(NEW_REALM)
        site.stack.clio.set_authorizing_user(NEW_FIRM)
    token = site.stack.admin_token(NEW_FIRM)
    # When it first opens its page
    browser.get(f"{site.base_url}/admin/?tenant={NEW_FIRM}#token={token}")
    # Then it sees the three steps, the first to do, no error, and no "Healthy"
    wait_for(browser, lambda d: d.find_element(By.ID, "onboarding").is_displayed())
    steps = text_of(browser, "onboarding-steps")
    for title in ("Connect QuickBooks Online", "Connect Clio", "Choose the account and the first date"):
        assert title in steps
    assert "Could not load" not in text_of(browser, "page-message")
    assert text_of(browser, "status") != "Healthy"
    check_page(browser, "onboarding")
    # When it connects QuickBooks Online (Intuit's consent, and back)
    click(browser, "#onboarding-next")
    wait_for(browser, lambda d: "QuickBooks Online is connected" in text_of(d, "page-message"))
    # Then the next step is Clio, and the firm is still not "Healthy"
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "li[data-step=clio] #onboarding-next"))
    assert text_of(browser, "status") != "Healthy"
    # When it connects Clio
    click(browser, "#onboarding-next")
    wait_for(browser, lambda d: "Clio is connected" in text_of(d, "page-message"))
    # And chooses the account and the first date, sees the preview and confirms
    click(browser, "li[data-step=settings] #onboarding-next")
    wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "source-account")).options) > 1)
    Select(browser.find_element(By.ID, "source-account")).select_by_value(SOURCE_ACCOUNT)
    browser.find_element(By.ID, "enabled").click()
    click(browser, "#save-settings")
    wait_for(browser, lambda d: d.find_element(By.ID, "preview").is_displayed())
    click(browser, "#confirm-settings")
    wait_for(browser, lambda d: text_of(d, "settings-message").startswith("Settings saved."))
    # Then the guide is done, and the firm is set up
    wait_for(browser, lambda d: not d.find_element(By.ID, "onboarding").is_displayed())
    settings = site.stack.runtime.stores.tenants.get(NEW_FIRM).settings
    assert (settings.source_account_id, settings.enabled) == (SOURCE_ACCOUNT, True)
    check_page(browser, "onboarded")


def test_a_failure_is_fixed_by_linking_the_client_to_a_clio_contact(site: DemoSite, browser: WebDriver) -> None:
    # Given Mark Cho, a QBO customer Clio knows as "Cho, Mark" (so no match by name), with a matter
    with site.lock:
        contact = site.stack.clio.add_contact(site.tenant_id, {"name": "Cho, Mark", "type": "Person"})
        site.stack.clio.add_matter(
            site.tenant_id,
            {"client": {"id": contact["id"]}, "display_number": "09100-Cho", "description": "Estate", "status": "Open"},
        )
    browser.get(site.page_url)
    wait_for(browser, lambda d: any(k.endswith("/NO_CLIO_CONTACT") for k in failure_rows(d)))
    rows = [text for key, text in failure_rows(browser).items() if key.endswith("/NO_CLIO_CONTACT")]
    assert all("Mark Cho" in row for row in rows)  # the row names the client
    # and the settings list the customers Clio has no contact for, Mark Cho among them, each with its own link button
    unmatched = f'#unmatched-customers button[data-unmatched-customer="{NOT_IN_CLIO}"]'
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, unmatched))
    assert "Mark Cho" in text_of(browser, "unmatched-customers")
    # whose button opens the contact picker for him (closed again here: the failure's own button links him below)
    click(browser, unmatched)
    wait_for(browser, lambda d: "Mark Cho" in text_of(d, "link-customer"))
    assert browser.find_element(By.ID, "contact-search").get_attribute("value") == "Mark Cho"
    click(browser, "#link-close")
    check_page(browser, "failures", "failures-card")
    # When the bookkeeper presses "Link to a Clio contact", searches and picks the contact
    click(browser, f'button[data-link-customer="{NOT_IN_CLIO}"]')
    search = wait_for(browser, lambda d: d.find_element(By.ID, "contact-search"))
    search.clear()
    search.send_keys("Cho")
    click(browser, "#link-search button[type=submit]")
    wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#contact-results button[data-contact="{contact["id"]}"]')
    )
    check_page(browser, "contact-picker")
    click(browser, f'#contact-results button[data-contact="{contact["id"]}"]')
    # Then the page reports the link and what the retry it started came to
    wait_for(browser, lambda d: DONE.search(text_of(d, "page-message")), 40)
    assert text_of(browser, "page-message").startswith("Linked Mark Cho to Cho, Mark.")
    # And Mark Cho's failures are gone, imported onto the matter
    wait_for(browser, lambda d: not any(k.endswith("/NO_CLIO_CONTACT") for k in failure_rows(d)), 30)
    assert "Cho, Mark" in text_of(browser, "contact-links")
    # and Mark Cho has left the list of customers with no Clio contact
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, unmatched), 30)


def test_a_needs_matter_entry_is_assigned_from_the_page(site: DemoSite, browser: WebDriver) -> None:
    # Given entries of a client with two matters waiting for one
    browser.get(site.page_url)
    selects = wait_for(
        browser,
        lambda d: [s for s in d.find_elements(By.CSS_SELECTOR, "#needs-matter select") if len(Select(s).options) > 1],
    )
    before = len(browser.find_elements(By.CSS_SELECTOR, "#needs-matter tbody tr[data-txn]"))
    row = selects[0].find_element(By.XPATH, "./ancestor::tr")
    txn = row.get_attribute("data-txn")
    # When the bookkeeper picks the second matter and presses Assign
    Select(selects[0]).select_by_index(2)
    row.find_element(By.XPATH, ".//button[text()='Assign']").click()
    # Then the entry leaves the queue, and the page says which matter it now has
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#needs-matter tbody tr[data-txn]")) == before - 1)
    assert "55 Twin Lane" in text_of(browser, "needs-message") or "09005" in text_of(browser, "needs-message")
    assert txn not in [
        r.get_attribute("data-txn") for r in browser.find_elements(By.CSS_SELECTOR, "#needs-matter tbody tr")
    ]
    check_page(browser, "needs-matter", "needs-card")


def test_a_retry_reports_its_result(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's failures, grouped by problem
    browser.get(site.page_url)
    wait_for(browser, lambda d: f"{FIXED_TXN}/NO_CUSTOMER" in failure_rows(d))
    # When the bookkeeper retries the "no customer" group
    click(browser, '.group[data-code="NO_CUSTOMER"] > button')
    # Then the page follows the retry until it is done and says what it came to
    wait_for(browser, lambda d: "Done:" in text_of(d, "page-message"), 40)
    assert re.search(r"Done: \d+ resolved, \d+ still failing\.", text_of(browser, "page-message"))


def test_sync_now_after_a_fix_in_quickbooks_reports_its_outcome(site: DemoSite, browser: WebDriver) -> None:
    # Given the check with no customer, and the bookkeeper giving its line a customer in QuickBooks
    browser.get(site.page_url)
    key = f"{FIXED_TXN}/NO_CUSTOMER"
    wait_for(browser, lambda d: key in failure_rows(d))
    assert "Parking" in failure_rows(browser)[key]  # the failing line is named
    realm = demo_scenario().qbo.realm_id
    with site.lock:
        [purchase] = [p for p in site.stack.qbo.purchases(realm) if p["Id"] == FIXED_TXN]
        fixed = copy.deepcopy(purchase)
        first_customer = fixed["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"]
        for line in fixed["Line"]:
            line.get("AccountBasedExpenseLineDetail", {}).setdefault("CustomerRef", first_customer)
        site.stack.qbo.update_purchase(realm, fixed)
    # When they press "Sync now"
    click(browser, "#sync")
    # Then the page follows the run to "Done: N created, M updated, K failed." and the failure is gone
    wait_for(
        browser, lambda d: re.search(r"Done: \d+ created, \d+ updated, \d+ failed", text_of(d, "page-message")), 40
    )
    wait_for(browser, lambda d: not any(k.startswith(f"{FIXED_TXN}/") for k in failure_rows(d)), 30)


def test_a_client_month_is_reconciled(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's page
    browser.get(site.page_url)
    wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "recon-client")).options) > 1)
    # When the bookkeeper reconciles April 2026 for Red Rock Diner
    set_value(browser, "recon-month", "2026-04")
    Select(browser.find_element(By.ID, "recon-client")).select_by_visible_text("Red Rock Diner")
    click(browser, "#reconcile")
    # Then QuickBooks' total and Clio's are shown side by side, the difference explained
    wait_for(browser, lambda d: text_of(d, "recon-message").startswith("2026-04: QuickBooks"))
    table = text_of(browser, "recon-table")
    assert "Red Rock Diner" in table
    assert re.search(r"\d+\.\d\d", table)
    check_page(browser, "reconciliation", "recon-card")


def test_a_csv_is_downloaded(site: DemoSite, browser: WebDriver, downloads: Path) -> None:
    # Given the firm's page
    browser.get(site.page_url)
    wait_for(browser, lambda d: d.find_element(By.ID, "activity").text.count("\n") > 1)
    # When the bookkeeper downloads the activity
    click(browser, "#export-activity")
    # Then a CSV file arrives, with its header row
    wait_for(browser, lambda d: (downloads / "activity.csv").exists(), 20)
    wait_for(browser, lambda d: (downloads / "activity.csv").read_text(encoding="utf-8").count("\n") > 1)
    assert "Downloaded activity.csv" in text_of(browser, "export-message")


def test_a_later_start_date_is_previewed_then_confirmed(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's page, importing from 2026-01-01
    browser.get(site.page_url)
    wait_for(browser, lambda d: d.find_element(By.ID, "start-date").get_attribute("value") == "2026-01-01")
    # When the bookkeeper moves the start date to 15 April and saves
    set_value(browser, "start-date", "2026-04-15")
    click(browser, "#save-settings")
    # Then the page shows what it would import, or no longer import, before anything is saved
    wait_for(browser, lambda d: d.find_element(By.ID, "preview").is_displayed(), 30)
    assert "No longer imported" in text_of(browser, "preview-summary")
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.start_date == date(2026, 1, 1)
    check_page(browser, "preview", "settings-card")
    # When they confirm
    click(browser, "#confirm-settings")
    # Then it is saved
    wait_for(browser, lambda d: text_of(d, "settings-message").startswith("Settings saved."))
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.start_date == date(2026, 4, 15)


def test_a_refused_setting_is_explained_by_its_field_in_words(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's page
    browser.get(site.page_url)
    wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "default-user")).options) > 1)
    # When a save is refused (a user removed from Clio since the page loaded)
    browser.execute_script("document.getElementById('default-user').add(new Option('Gone', '999'));")
    Select(browser.find_element(By.ID, "default-user")).select_by_value("999")
    click(browser, "#save-settings")
    # Then the refusal is in words, by the field, never JSON
    wait_for(browser, lambda d: text_of(d, "settings-message").startswith("Not saved:"))
    assert "{" not in text_of(browser, "settings-message")
    assert text_of(browser, "default-user-msg") and "{" not in text_of(browser, "default-user-msg")


def test_the_page_refuses_to_load_without_a_token(site: DemoSite, browser: WebDriver) -> None:
    # Given a browser with no token for the firm
    # When it opens the page without one
    browser.get(f"{site.base_url}/admin/?tenant={site.tenant_id}")
    # Then it asks the user to sign in and shows no data
    message = wait_for(browser, lambda d: d.find_element(By.ID, "page-message").text)
    assert "Sign in first" in message
    assert failure_rows(browser) == {}


def test_a_picker_that_could_not_load_never_overwrites_the_saved_choice(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's expense category chosen, and Clio failing to list the categories (down, or needing reconnecting)
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.clio_expense_category_id == 5
    site.stack.clio.fail_next("503", count=50, path_contains="expense_categories")
    try:
        # When the firm opens its page and saves its settings
        browser.get(site.page_url)
        wait_for(browser, lambda d: "could not be loaded" in d.find_element(By.ID, "category-note").text, 40)
        assert not browser.find_element(By.ID, "category").is_enabled()
        click(browser, "#save-settings")
        wait_for(browser, lambda d: d.find_element(By.ID, "settings-message").text.startswith("Settings saved."))
    finally:
        site.stack.clio.clear_faults()
    # Then the category it chose before is kept
    assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.clio_expense_category_id == 5


def test_the_settings_preview_the_note_and_the_memo_reaches_it_once_turned_on(
    site: DemoSite, browser: WebDriver
) -> None:
    # Given the firm's page, its settings loaded (the memo off)
    browser.get(site.page_url)
    preview = lambda d: text_of(d, "note-preview")  # noqa: E731
    wait_for(browser, lambda d: preview(d).endswith("(QuickBooks Check 2018)"))
    before = preview(browser)
    assert not browser.find_element(By.ID, "include-memo").is_selected() and "[qbo:" not in before
    try:
        # When it turns the memo on and saves
        click(browser, "#include-memo")
        click(browser, "#save-settings")
        wait_for(browser, lambda d: text_of(d, "settings-message").startswith("Settings saved."))
        # Then the setting is saved and the preview shows the memo at once
        assert site.stack.runtime.stores.tenants.get(site.tenant_id).settings.include_memo_in_note is True
        wait_for(browser, lambda d: preview(d) != before)
        assert "Paid at the counter" in preview(browser) and preview(browser).endswith("(QuickBooks Check 2018)")
        check_page(browser, "note", "settings-card")
    finally:
        now = site.stack.clock.now()
        site.stack.runtime.stores.tenants.transition(
            site.tenant_id, lambda t: lifecycle.settings_changed(t, {"include_memo_in_note": False}, now)
        )


def test_the_daily_digest_is_set_and_a_wrong_address_explained(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's page
    browser.get(site.page_url)
    wait_for(browser, lambda d: d.find_element(By.ID, "digest-enabled").is_selected())
    # When the bookkeeper types a wrong address for the daily digest and saves
    field = browser.find_element(By.ID, "digest-email")
    field.send_keys("books at firm")
    click(browser, "#save-settings")
    # Then the field says what is wrong, in words
    wait_for(browser, lambda d: text_of(d, "digest-email-msg") == "is not in the expected form")
    # When they correct it and save
    field.clear()
    field.send_keys("books@firm.example")
    click(browser, "#save-settings")
    # Then it is kept, the digest on
    wait_for(browser, lambda d: text_of(d, "settings-message").startswith("Settings saved."))
    settings = site.stack.runtime.stores.tenants.get(site.tenant_id).settings
    assert (settings.digest_email, settings.digest_enabled) == ("books@firm.example", True)


def test_a_qbo_connection_near_its_limit_is_warned_with_a_reconnect_button(site: DemoSite, browser: WebDriver) -> None:
    # Given the firm's QBO grant reaching its 5-year limit in 20 days
    limit = site.stack.clock.now() + timedelta(days=20)
    site.stack.runtime.stores.tenants.transition(
        site.tenant_id, lambda t: lifecycle.TenantChange({"qbo_hard_expires_at": limit})
    )
    try:
        # When the bookkeeper opens the page
        browser.get(site.page_url)
        # Then the health card says so in words, with a button to reconnect QuickBooks Online
        warning = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#problems li[data-warning="qbo"]'))
        assert "5-year limit in 20 days" in warning.text
        assert warning.find_element(By.TAG_NAME, "button").text == "Reconnect QuickBooks Online"
        check_page(browser, "token-warning")
    finally:
        site.stack.runtime.stores.tenants.transition(
            site.tenant_id, lambda t: lifecycle.TenantChange({"qbo_hard_expires_at": None})
        )
