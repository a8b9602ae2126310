"""Log redaction: personal data is masked in messages, tracebacks and exception text alike, and
the platform ids needed to trace a problem (Slack ``ts``, Discord snowflakes) stay readable."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.observability import configure_logging

CARD, EMAIL, PHONE, IBAN = (
    "4111 1111 1111 1111",
    "ann@example.com",
    "+44 20 7946 0958",
    "DE89 3704 0044 0532 0130 00",
)
SLACK_TS = "1800000000.000123"
SNOWFLAKE = "1180000000000000009"  # 19 digits, and it passes the Luhn check a card would
PERSONAL = f"card {CARD}, mail {EMAIL}, call {PHONE}, pay to {IBAN}"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    yield logging.getLogger("tests.observability")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "frontdesk"]


def crash(text: str) -> None:
    raise ValueError(text)


def assert_clean(output: str) -> None:
    for secret in ("4111", EMAIL, "7946", "3704", "0532"):
        assert secret not in output, output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tracebacks_and_exception_text_are_redacted(
    fmt: str, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt, redact_personal_data=True)
    try:
        crash(PERSONAL)
    except ValueError:
        logger.exception("handler failed for conversation %s", "slack:C0123ABCD")
    output = capsys.readouterr().err
    assert "Traceback" in output and "ValueError" in output and "slack:C0123ABCD" in output
    assert_clean(output)
    if fmt == "json":
        line = json.loads(output.strip().splitlines()[-1])
        assert line["ts"].startswith("20") and "ValueError" in line["exc"]


def test_stack_info_is_redacted(logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text", redact_personal_data=True)
    logger.warning("odd input from ann@example.com", stack_info=True)  # the line is in the stack
    output = capsys.readouterr().err
    assert "Stack (most recent call last)" in output
    assert_clean(output)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_platform_ids_stay_readable(
    fmt: str, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt, redact_personal_data=True)
    logger.info("posted %s in C0123ABCD; discord message %s; from %s", SLACK_TS, SNOWFLAKE, EMAIL)
    output = capsys.readouterr().err
    assert SLACK_TS in output and SNOWFLAKE in output and "C0123ABCD" in output
    assert EMAIL not in output


def test_without_redaction_nothing_is_changed(
    logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "text", redact_personal_data=False)
    try:
        crash(PERSONAL)
    except ValueError:
        logger.exception("failed")
    assert PERSONAL in capsys.readouterr().err


def test_log_redactor_keeps_epoch_milliseconds_and_catches_a_bare_card() -> None:
    from bot.observability import log_redactor

    redactor = log_redactor()
    assert redactor.redact("at 1764582004123 ms").text == "at 1764582004123 ms"  # Luhn-valid
    assert "4111111111111111" not in redactor.redact("card 4111111111111111").text
