"""Problem and failure codes with their words (hardcost.codes); settings from the environment (hardcost.config)."""

from __future__ import annotations

import json
import re

import pytest

from hardcost.codes import (
    FAILURE_TEXT,
    PROBLEM_TEXT,
    RECHECKED_ON_SYNC,
    CodeText,
    FailureCode,
    ProblemCode,
    readme_table,
)
from hardcost.config import DEFAULT_CLIO_REGION_URLS, parse_settings
from hardcost.errors import ConfigurationError

ALL_CODES: list[ProblemCode | FailureCode] = [*ProblemCode, *FailureCode]
# Identifiers a bookkeeper should never have to read: snake_case / SCREAMING_CASE, camelCase API fields, placeholders.
IDENTIFIER = re.compile(r"\b\w+_\w+\b|\b[a-z]+[A-Z]\w*\b|\b(?!QuickBooks\b)[A-Z][a-z]+[A-Z]\w*\b|[{}]|<\w+>|\[\w+\]")
TECHNICAL_WORDS = ("exception", "traceback", "null", "none", "http", "json", "api", "4xx", "5xx", "payload")


def text_of(code: ProblemCode | FailureCode) -> CodeText:
    return PROBLEM_TEXT[code] if isinstance(code, ProblemCode) else FAILURE_TEXT[code]


# ------------------------------------------------------------------------------------------------ codes


def test_code_sets_are_closed_when_compared_with_the_design() -> None:
    # Given DESIGN.md §3 names these problem and failure codes
    # Then each exists (the set may hold the service's own codes too)
    assert {"PLAN_NOT_SUPPORTED", "TRACKING_BY_CUSTOMER_OFF", "HARD_SOFT_COSTS_OFF"} <= {c.value for c in ProblemCode}
    assert {
        "ITEM_DETAILS_UNSUPPORTED",
        "NO_CUSTOMER",
        "NO_CLIO_CONTACT",
        "CONTACT_HAS_NO_MATTER",
        "ENTRY_BILLED",
        "EXCHANGE_RATE_MISSING",
    } <= {c.value for c in FailureCode}


def test_every_code_has_text_when_the_tables_are_built() -> None:
    # Given the two text tables
    # Then they cover exactly the enums: no code without words, no words without a code
    assert set(PROBLEM_TEXT) == set(ProblemCode)
    assert set(FAILURE_TEXT) == set(FailureCode)


@pytest.mark.parametrize("code", ALL_CODES, ids=str)
def test_code_has_message_and_fix_in_plain_words(code: ProblemCode | FailureCode) -> None:
    # Given a code's text
    text = text_of(code)
    # Then message and fix are non-empty sentences, different from each other
    for words in (text.message, text.fix):
        assert words.strip() == words and len(words.split()) >= 5
        assert words[0].isupper() and words.endswith(".")
        # And written for a bookkeeper: no code names, API identifiers, placeholders or technical words
        assert code.value not in words
        assert not IDENTIFIER.search(words), IDENTIFIER.search(words)
        lowered = set(re.findall(r"[a-z0-9]+", words.lower()))
        assert not lowered & set(TECHNICAL_WORDS)
    assert text.message != text.fix


def test_messages_are_distinct_when_codes_differ() -> None:
    # Given every code
    # Then no two codes share a message or a fix (the firm can tell them apart)
    messages = [text_of(c).message for c in ALL_CODES]
    fixes = [text_of(c).fix for c in ALL_CODES]
    assert len(set(messages)) == len(messages)
    assert len(set(fixes)) == len(fixes)


def test_item_details_fix_says_to_move_lines_to_category_details() -> None:
    # Given R7's failure
    text = FAILURE_TEXT[FailureCode.ITEM_DETAILS_UNSUPPORTED]
    # Then the fix is the one DESIGN.md quotes
    assert "Item details" in text.fix and "Category details" in text.fix and text.fix.startswith("Move")
    # And both say it is about lines charged to a customer (item lines of no customer are not failures)
    assert "customer" in text.message and "customer" in text.fix


def test_missing_exchange_rate_is_fixed_in_quickbooks_and_not_rechecked_every_sync() -> None:
    # Given R9's failure
    text = FAILURE_TEXT[FailureCode.EXCHANGE_RATE_MISSING]
    # Then it tells the bookkeeper where the rate goes: on the transaction, or in QuickBooks' currency settings
    assert "exchange rate" in text.message and "exchange rate" in text.fix
    assert "QuickBooks Online" in text.fix and "retry" in text.fix.lower()
    # And, the cause being in QuickBooks, it resolves when the transaction changes or is retried
    assert FailureCode.EXCHANGE_RATE_MISSING not in RECHECKED_ON_SYNC


@pytest.mark.parametrize("code", ALL_CODES, ids=str)
def test_readme_table_lists_code_with_its_words(code: ProblemCode | FailureCode) -> None:
    # Given the generated README table
    table = readme_table()
    # When the code's row is found
    rows = [row for row in table.splitlines() if row.startswith(f"| `{code.value}` |")]
    # Then there is exactly one, with its kind, message and fix
    assert len(rows) == 1
    kind = "tenant problem" if isinstance(code, ProblemCode) else "sync failure"
    text = text_of(code)
    assert rows[0] == f"| `{code.value}` | {kind} | {text.message} | {text.fix} |"


def test_readme_table_has_one_row_per_code_under_a_header() -> None:
    # Given the generated README table
    lines = readme_table().splitlines()
    # Then a Markdown header, then exactly one row per code and nothing else
    assert lines[:2] == ["| code | kind | message | fix |", "|---|---|---|---|"]
    assert len(lines) == 2 + len(ALL_CODES)
    assert all(line.count(" | ") == 3 for line in lines[2:])


# ----------------------------------------------------------------------------------------------- config

REQUIRED = {
    "TABLE_NAME": "hardcost-test",
    "EXPENSE_QUEUE_URL": "http://127.0.0.1:5000/123456789012/expense",
    "SECRET_PREFIX": "hardcost/tenants/",
    "APP_SECRET_NAME": "hardcost/app",
    "WEBHOOK_VERIFIER_SECRET_NAME": "hardcost/webhook-verifier",
    "TENANT_SECRET_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}


def test_settings_parse_with_defaults_when_only_required_variables_are_set() -> None:
    # Given the four required variables and unrelated ones (PATH)
    env = {**REQUIRED, "PATH": "/usr/bin"}
    # When parsed
    s = parse_settings(env)
    # Then required values are read and the rest are production defaults
    assert s.TABLE_NAME == "hardcost-test"
    assert s.QBO_MINOR_VERSION == 75
    assert s.CLIO_REGION_URLS == DEFAULT_CLIO_REGION_URLS
    assert s.AWS_ENDPOINT_URL is None


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_settings_are_rejected_naming_the_variable_when_a_required_one_is_missing(name: str) -> None:
    # Given the environment without one required variable
    env = {k: v for k, v in REQUIRED.items() if k != name}
    # When parsed / Then a ConfigurationError names it
    with pytest.raises(ConfigurationError, match=name):
        parse_settings(env)


def test_settings_are_rejected_naming_table_name_when_it_is_empty() -> None:
    # Given TABLE_NAME set to ""
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        parse_settings({**REQUIRED, "TABLE_NAME": ""})


def test_settings_error_names_every_missing_variable_when_several_are_missing() -> None:
    # Given no variables at all
    with pytest.raises(ConfigurationError) as caught:
        parse_settings({})
    # Then each required one is named, so one deploy fixes them all
    for name in REQUIRED:
        assert name in str(caught.value)


@pytest.mark.parametrize("value", ["74", "0", "-75", "seventy-five"])
def test_settings_are_rejected_naming_minor_version_when_below_75_or_not_a_number(value: str) -> None:
    # Given QBO_MINOR_VERSION below 75 (Intuit dropped older minor versions) or garbage
    with pytest.raises(ConfigurationError, match="QBO_MINOR_VERSION"):
        parse_settings({**REQUIRED, "QBO_MINOR_VERSION": value})


@pytest.mark.parametrize(("value", "expected"), [("75", 75), ("76", 76)])
def test_minor_version_is_an_int_when_75_or_above(value: str, expected: int) -> None:
    minor = parse_settings({**REQUIRED, "QBO_MINOR_VERSION": value}).QBO_MINOR_VERSION
    assert minor == expected


def test_clio_region_urls_are_parsed_from_json_when_set() -> None:
    # Given region URLs pointing at a local simulator
    urls = {"app": "http://127.0.0.1:9101", "eu": "http://127.0.0.1:9102"}
    # When parsed
    s = parse_settings({**REQUIRED, "CLIO_REGION_URLS": json.dumps(urls)})
    # Then the mapping is the JSON's
    parsed = s.CLIO_REGION_URLS
    assert parsed == urls


def test_clio_region_urls_fall_back_to_defaults_when_blank() -> None:
    s = parse_settings({**REQUIRED, "CLIO_REGION_URLS": "  "})
    assert s.CLIO_REGION_URLS == DEFAULT_CLIO_REGION_URLS


@pytest.mark.parametrize("value", ["{not json", '["app"]', '{"app": 5}'], ids=["not-json", "list", "non-string-url"])
def test_settings_are_rejected_naming_clio_region_urls_when_not_a_json_mapping_of_urls(value: str) -> None:
    # Given CLIO_REGION_URLS that is not a JSON object of strings
    with pytest.raises(ConfigurationError, match="CLIO_REGION_URLS"):
        parse_settings({**REQUIRED, "CLIO_REGION_URLS": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_TIMEOUT_SECONDS", "0"),
        ("HTTP_TIMEOUT_SECONDS", "61"),
        ("LEASE_SECONDS", "5"),
        ("POLL_OVERLAP_SECONDS", "-1"),
        ("WEBHOOK_DEBOUNCE_SECONDS", "901"),
        ("WEBHOOK_READS", "sometimes"),
        ("BACKSTOP_MAX_STALENESS_MINUTES", "0"),
        ("POLL_TICK_MINUTES", "0"),
    ],
)
def test_settings_are_rejected_naming_the_variable_when_a_number_is_out_of_range(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        parse_settings({**REQUIRED, name: value})


def test_the_backstop_defaults_keep_a_lost_webhook_within_six_hours_and_read_preconditions_daily() -> None:
    s = parse_settings(REQUIRED)
    assert (s.BACKSTOP_MAX_STALENESS_MINUTES, s.POLL_TICK_MINUTES, s.PRECONDITION_TTL_SECONDS) == (360, 5, 86_400)
    assert (s.WEBHOOK_READS, s.WEBHOOK_DEBOUNCE_SECONDS) == ("debounced", 30)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"BACKSTOP_MAX_STALENESS_MINUTES": "4"}, "BACKSTOP_MAX_STALENESS_MINUTES"),
        ({"BACKSTOP_DOUBTFUL_MINUTES": "400"}, "BACKSTOP_DOUBTFUL_MINUTES"),
    ],
)
def test_backstop_bounds_that_do_not_fit_the_schedule_are_rejected_naming_the_setting(
    changes: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        parse_settings({**REQUIRED, **changes})
