"""PII redaction before text leaves for an LLM provider, and restoring it in the answer."""

from __future__ import annotations

import time

import pytest

from brain.redact import Redaction, Redactor
from config.errors import ConfigError


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def only_value(redaction: Redaction) -> str:
    assert len(redaction.mapping) == 1, redaction.mapping
    return next(iter(redaction.mapping.values()))


# -- email -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "email",
    [
        "bob@example.com",
        "first.last+tag@mail.example.co.uk",
        "x_1@sub-domain.example.org",
        "ÉLODIE@exemple.fr",
    ],
)
def test_emails_are_redacted(redactor: Redactor, email: str) -> None:
    redaction = redactor.redact(f"Please write to {email}. Thanks!")
    assert redaction.text == "Please write to [EMAIL_1]. Thanks!"
    assert redaction.mapping == {"[EMAIL_1]": email}


def test_the_same_email_gets_the_same_placeholder(redactor: Redactor) -> None:
    redaction = redactor.redact("From ann@example.com to bob@example.com, cc ann@example.com")
    assert redaction.text == "From [EMAIL_1] to [EMAIL_2], cc [EMAIL_1]"
    assert redaction.mapping == {"[EMAIL_1]": "ann@example.com", "[EMAIL_2]": "bob@example.com"}


def test_an_at_sign_alone_is_not_an_email(redactor: Redactor) -> None:
    text = "Meet @ the shop, or ping @support on Slack"
    assert redactor.redact(text) == Redaction(text=text, mapping={})


# -- phone -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "(030) 1234567",
        "06-12345678",
        "+1 (415) 555-0132",
        "+49 151 23456789",
        "+442079460958",
        "0044 20 7946 0958",
        "+44 (0)20 7946 0958",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "415.555.0132",
        "415-555-0132",
        "1-800-555-0199",
        "030 - 123 456 78",
        "0612345678",
    ],
)
def test_phones_are_redacted(redactor: Redactor, phone: str) -> None:
    redaction = redactor.redact(f"You can reach me on {phone}, thanks.")
    assert redaction.text == "You can reach me on [PHONE_1], thanks."
    assert only_value(redaction) == phone


def test_unformatted_number_is_a_phone_only_when_introduced_as_one(redactor: Redactor) -> None:
    assert redactor.redact("My phone number is 4155550132").text == "My phone number is [PHONE_1]"
    assert redactor.redact("call me at: 4155550132").text == "call me at: [PHONE_1]"
    kept = "Reference 4155550132 is missing"
    assert redactor.redact(kept).text == kept


def test_several_phones_separated_by_spaces_are_split(redactor: Redactor) -> None:
    redaction = redactor.redact("try 0612345678 0698765432 +44 20 7946 0958 0612345678")
    assert redaction.text == "try [PHONE_1] [PHONE_2] [PHONE_3] [PHONE_1]"


def test_a_phone_followed_by_an_order_number_keeps_the_order_number(redactor: Redactor) -> None:
    redaction = redactor.redact("call 0612345678 10482")
    assert redaction.text == "call [PHONE_1] 10482"


@pytest.mark.parametrize(
    "text",
    [
        "Delivered on 2026-11-21 at 14:30.",
        "Delivered on 21.11.2026, or was it 11/21/2026? Maybe 21/11/26.",
        "It was 09:05:00 on 2026/11/21",
        "It costs 1,299.00 and shipping 12.50",
        "That's €12.499.000,00 or 12 499 000 € or USD 1 299 000",
        "Where is order 10482? And order 10483, 10484?",
        "I bought it in 2025, my friend in 2019 2020 2021.",
        "Invoice 2024-10482 and ticket #12345678",
        "Order 12345678 and ref 987654321",
        "Server 192.168.100.200 is down",
        "Version 3.12.1 and 1.2.3",
    ],
)
def test_numbers_that_are_not_phones_are_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redaction(text=text, mapping={})


def test_a_date_next_to_a_phone_does_not_hide_it(redactor: Redactor) -> None:
    redaction = redactor.redact("on 2026-11-21 0612345678, at 14:30 06 12 34 56 78")
    assert redaction.text == "on 2026-11-21 [PHONE_1], at 14:30 [PHONE_1]"


# -- payment cards ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111111111111111",
        "5555-5555-5555-4444",
        "378282246310005",
        "3782 822463 10005",
        "6011 1111 1111 1117",
        "4222222222222",
    ],
)
def test_valid_cards_are_redacted(redactor: Redactor, card: str) -> None:
    redaction = redactor.redact(f"My card is {card}, expiry 12/28.")
    assert redaction.text == "My card is [CARD_1], expiry 12/28."
    assert only_value(redaction) == card
    assert card.replace(" ", "").replace("-", "")[4:12] not in redaction.text


def test_a_card_followed_by_its_cvv_is_still_found(redactor: Redactor) -> None:
    redaction = redactor.redact("card 4111 1111 1111 1111 123 exp 12/26")
    assert redaction.text == "card [CARD_1] 123 exp 12/26"
    assert "1111" not in redaction.text


@pytest.mark.parametrize(
    "number", ["1234567812345678", "1234 5678 1234 5678", "1234-5678-1234-5678", "4111111111111112"]
)
def test_a_luhn_invalid_16_digit_number_is_kept_whole(redactor: Redactor, number: str) -> None:
    text = f"Order {number} has not arrived"
    assert redactor.redact(text) == Redaction(text=text, mapping={})


def test_cards_are_never_half_eaten_by_the_phone_pattern(redactor: Redactor) -> None:
    redaction = redactor.redact("4111 1111 1111 1111 or +44 20 7946 0958")
    assert redaction.text == "[CARD_1] or [PHONE_1]"


# -- IBAN ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "BE68 5390 0754 7034",
        "de89 3704 0044 0532 0130 00",
    ],
)
def test_valid_ibans_are_redacted(redactor: Redactor, iban: str) -> None:
    redaction = redactor.redact(f"Refund to {iban} please")
    assert redaction.text == "Refund to [IBAN_1] please"
    assert only_value(redaction) == iban


def test_an_iban_followed_by_a_word_is_trimmed(redactor: Redactor) -> None:
    redaction = redactor.redact("BE68 5390 0754 7034 THEN call me")
    assert redaction.text == "[IBAN_1] THEN call me"


@pytest.mark.parametrize(
    "text", ["IBAN GB82 WEST 1234 5698 7654 33 is mine", "IBAN DE89370400440532013001 is mine"]
)
def test_an_iban_with_a_wrong_check_is_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redaction(text=text, mapping={})


# -- mixed text and restore ------------------------------------------------------------------
MIXED = (
    "Hi, I'm ann@example.com (phone +44 20 7946 0958). Order 10482 from 2026-11-21 cost "
    "1,299.00; I paid with 5555-5555-5555-4444 and want the refund on GB82 WEST 1234 5698 "
    "7654 32. Again: ann@example.com"
)


def test_mixed_text(redactor: Redactor) -> None:
    redaction = redactor.redact(MIXED)
    assert redaction.text == (
        "Hi, I'm [EMAIL_1] (phone [PHONE_1]). Order 10482 from 2026-11-21 cost 1,299.00; I paid "
        "with [CARD_1] and want the refund on [IBAN_1]. Again: [EMAIL_1]"
    )
    assert redaction.mapping == {
        "[EMAIL_1]": "ann@example.com",
        "[PHONE_1]": "+44 20 7946 0958",
        "[CARD_1]": "5555-5555-5555-4444",
        "[IBAN_1]": "GB82 WEST 1234 5698 7654 32",
    }
    for original in redaction.mapping.values():
        assert original not in redaction.text
    assert redaction.restore(redaction.text) == MIXED


def test_restore_tolerates_what_models_do_to_placeholders(redactor: Redactor) -> None:
    redaction = redactor.redact("Mail ann@example.com, call 06-12345678, pay 4111 1111 1111 1111")
    answer = (
        "We wrote to [email_1] and [ EMAIL_1 ], will call [Phone 1] or [PHONE-1], "
        "and charge [card_1]. [EMAIL_2] and [NOTE 1] are not ours."
    )
    assert redaction.restore(answer) == (
        "We wrote to ann@example.com and ann@example.com, will call 06-12345678 or 06-12345678, "
        "and charge 4111 1111 1111 1111. [EMAIL_2] and [NOTE 1] are not ours."
    )


def test_restore_does_not_re_expand_restored_values() -> None:
    redaction = Redaction(
        text="[EMAIL_1] [EMAIL_2]",
        mapping={"[EMAIL_1]": "odd[EMAIL_2]@example.com", "[EMAIL_2]": "x@example.com"},
    )
    assert redaction.restore("[EMAIL_1]") == "odd[EMAIL_2]@example.com"


def test_placeholders_the_customer_typed_are_not_reused(redactor: Redactor) -> None:
    redaction = redactor.redact("You said [EMAIL_1] but I am bob@example.com")
    assert redaction.text == "You said [EMAIL_1] but I am [EMAIL_2]"
    assert redaction.restore(redaction.text) == "You said [EMAIL_1] but I am bob@example.com"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "How do I return an item?",
        "Order 10482 was delivered on 2026-11-21 at 14:30 for 1,299.00.",
        "Meine Bestellung 10482 kam am 21.11.2026 an.",
    ],
)
def test_text_without_personal_data_is_unchanged(redactor: Redactor, text: str) -> None:
    redaction = redactor.redact(text)
    assert redaction.text == text
    assert redaction.mapping == {}
    assert redaction.restore("an answer [EMAIL_1]") == "an answer [EMAIL_1]"


def test_multiline_phone_numbers_are_not_glued(redactor: Redactor) -> None:
    redaction = redactor.redact("phones:\n0612345678\n0698765432\n")
    assert redaction.text == "phones:\n[PHONE_1]\n[PHONE_2]\n"


# -- extra patterns --------------------------------------------------------------------------
def test_extra_patterns_get_their_own_kind() -> None:
    redactor = Redactor({"ORDER_REF": r"\bORD-\d{6}\b", "customer_id": r"\bCUST\d{4}\b"})
    redaction = redactor.redact("ORD-123456 and ORD-654321 for CUST0042, again ORD-123456")
    assert (
        redaction.text == "[ORDER_REF_1] and [ORDER_REF_2] for [CUSTOMER_ID_1], again [ORDER_REF_1]"
    )
    assert redaction.mapping["[CUSTOMER_ID_1]"] == "CUST0042"
    answer = "Your order [order_ref_2] for [Customer_ID_1]"
    assert redaction.restore(answer) == "Your order ORD-654321 for CUST0042"


def test_extra_patterns_cannot_break_a_card_or_match_the_mask() -> None:
    redactor = Redactor({"DIGITS": r"\d{6}", "WORD": r"\w+@?"})
    redaction = redactor.redact("4111 1111 1111 1111 ann@example.com")
    assert redaction.text.startswith("[CARD_1] [EMAIL_1]")
    assert redaction.mapping["[CARD_1]"] == "4111 1111 1111 1111"
    assert redaction.mapping["[EMAIL_1]"] == "ann@example.com"


def test_extra_patterns_that_match_nothing_or_empty_are_harmless() -> None:
    redactor = Redactor({"EMPTY": r"x*"})
    assert redactor.redact("hello") == Redaction(text="hello", mapping={})


def test_an_invalid_extra_regex_names_the_kind() -> None:
    with pytest.raises(ConfigError, match="ORDER_REF"):
        Redactor({"ORDER_REF": r"ORD-(\d+"})


@pytest.mark.parametrize("kind", ["", "1ST", "ORDER REF", "ORDER-REF"])
def test_an_invalid_kind_name_is_refused(kind: str) -> None:
    with pytest.raises(ConfigError, match="kind"):
        Redactor({kind: r"\d+"})


# -- speed -----------------------------------------------------------------------------------
def test_a_long_message_is_fast(redactor: Redactor) -> None:
    text = (MIXED + " " + "1 2 3 4 5 6 7 8 9 0 " * 20 + "x" * 200 + " ") * 50
    started = time.perf_counter()
    redaction = redactor.redact(text)
    assert time.perf_counter() - started < 1.0
    assert redaction.text.count("[CARD_1]") == 50


def test_kept_spans_are_never_redacted() -> None:
    text = "ref 4111111111111111 and 4111 1111 1111 1111, ref 0612345678"
    assert Redactor().redact(text).text == "ref [CARD_1] and [CARD_1], ref [PHONE_1]"
    redaction = Redactor(keep=r"(?<=ref )[0-9]+").redact(text)
    assert redaction.text == "ref 4111111111111111 and [CARD_1], ref 0612345678"


def test_times_with_fractional_seconds_are_not_phone_numbers() -> None:
    line = "Running job (scheduled at 2026-12-01 11:30:27.812345+00:00)"
    assert Redactor().redact(line).text == line
