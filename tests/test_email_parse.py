"""The email parser, threading and composing on our own hand-written fixtures (pure)."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from channels.base import ConversationRef, OutboundMessage, ReplyHints
from channels.email import add_commands
from channels.email.charsets import decode_bytes, decode_header_value
from channels.email.cli import parse_command
from channels.email.compose import compose, outbound_message_id
from channels.email.html import html_to_text
from channels.email.parse import parse_mail
from channels.email.quoting import strip_reply
from channels.email.threads import (
    code_for,
    normalise_subject,
    our_code,
    reply_references,
    reply_subject,
    subject_code,
)
from config.errors import ConfigError, DeliveryRefused
from config.settings import EmailSettings, Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures" / "email"
EXPECTED: dict[str, dict[str, object]] = json.loads((FIXTURES / "expected.json").read_text())
OWN = ("support@larkspur.example",)
LANGS = ("en", "de", "fr", "es")


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.glob("*.eml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    expected = EXPECTED[name]
    mail = parse_mail((FIXTURES / name).read_bytes(), own_addresses=OWN, languages=LANGS)
    if "text" in expected:
        assert mail.text == expected["text"]
    assert mail.auto == expected.get("auto")
    for key in ("subject", "from_name", "message_id"):
        if key in expected:
            assert getattr(mail, key) == expected[key]
    if "attachments" in expected:
        assert [a.name for a in mail.attachments] == expected["attachments"]
    contains = expected.get("must_contain") or []
    for needle in [contains] if isinstance(contains, str) else contains:  # type: ignore[union-attr]
        assert needle in mail.full_text
    for needle in expected.get("must_not_contain") or []:  # type: ignore[union-attr]
        assert needle not in mail.full_text


def test_attachments_are_sized_without_decoding() -> None:
    mail = parse_mail((FIXTURES / "attachments.eml").read_bytes())
    pdf = next(a for a in mail.attachments if a.name.endswith(".pdf"))
    assert pdf.content_type == "application/pdf"
    assert pdf.size is not None and 59_000 < pdf.size < 62_000


def test_truncated_mail_still_parses() -> None:
    raw = (FIXTURES / "attachments.eml").read_bytes()[:2000]
    mail = parse_mail(raw, truncated=True)
    assert mail.truncated
    assert mail.text == "Photos attached, the table leg is split."


def test_stdlib_default_policy_really_raises_on_these_charsets() -> None:
    """Why ``decode_bytes`` exists: the modern policy's get_content() fails on them."""
    raw = (FIXTURES / "charset_default.eml").read_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    with pytest.raises(LookupError):
        msg.get_content()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "label", "text"),
    [
        ("Grüße".encode(), "iso-8859-1", "Grüße"),  # utf-8 labelled latin-1
        ("Grüße".encode("cp1252"), "utf-8", "Grüße"),  # latin-1 labelled utf-8
        ("€5".encode("cp1252"), "iso-8859-1", "€5"),  # cp1252 labelled latin-1
        (b"caf\xe9", "x-made-up", "café"),
        (b"", None, ""),
        ("日本".encode("iso2022_jp"), "ISO-2022-JP", "日本"),
    ],
)
def test_decode_bytes(data: bytes, label: str | None, text: str) -> None:
    assert decode_bytes(data, label) == text


def test_header_decoding_survives_garbage() -> None:
    assert decode_header_value("=?iso-8859-1?Q?J=FCrgen?= M") == "Jürgen M"
    assert decode_header_value("=?bogus?Q?x=ZZ?=") != ""
    assert decode_header_value(None) == ""


def test_html_history_markers_are_cut() -> None:
    html = (
        "<div>New words here.</div><div class='gmail_quote'>On Mon wrote:"
        "<blockquote>old</blockquote></div>"
    )
    assert html_to_text(html).strip() == "New words here."
    assert html_to_text("") == ""
    assert html_to_text("a < b & c").strip() == "a < b & c"


def test_sent_from_my_in_a_sentence_is_kept() -> None:
    text = "Sent from my desk at work, because the app keeps failing.\nPlease help."
    assert strip_reply(text) == text


def test_a_forward_keeps_the_forwarded_question() -> None:
    text = (
        "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Ann <a@x.example>\n"
        "Date: Mon, 30 Nov 2026\nSubject: refund\nTo: me\n\nWhere is my refund?"
    )
    assert "Where is my refund?" in strip_reply(text, is_reply=False)


def test_threading_codes() -> None:
    code = code_for("<abc@x>".strip("<>"))
    assert len(code) == 8 and code == code_for("ABC@x")
    ours = f"fd.{code}.0123abcd@larkspur.example"
    assert our_code(["other@x", ours], "larkspur.example") == code
    assert our_code([ours], "elsewhere.example") is None
    subject = reply_subject("AW: Re: Where is my order? [#FD-AAAAAAAA]", code)
    assert subject == f"Re: Where is my order? [#FD-{code}]"
    assert subject_code(subject) == code
    assert normalise_subject(subject) == "where is my order?"
    assert reply_subject(None, code).startswith("Re: Your message")
    chain = reply_references([f"r{i}" for i in range(30)], "last")
    assert chain[0] == "r0" and chain[-1] == "last" and len(chain) == 10


def _outbound(**hints: object) -> OutboundMessage:
    ref = ConversationRef("email", code_for("root@customer.example"),
                          hints=ReplyHints(**hints))  # type: ignore[arg-type]  # fmt: skip
    return OutboundMessage(ref=ref, text="Hello Robin,\n\nIt ships today.", in_reply_to="m1")


def test_compose_threads_from_the_hints_alone() -> None:
    message = _outbound(reply_to="m2@customer.example", address="robin@customer.example",
                        references=("root@customer.example",), subject="Where is it?")  # fmt: skip
    mail = compose(message, from_address="support@larkspur.example", from_name="Larkspur",
                   domain="larkspur.example", now=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
    assert mail["To"] == "robin@customer.example"
    assert mail["In-Reply-To"] == "<m2@customer.example>"
    assert mail["References"] == "<root@customer.example> <m2@customer.example>"
    assert mail["Subject"] == f"Re: Where is it? [#FD-{message.ref.conversation_id}]"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert str(mail["Message-ID"]).endswith("@larkspur.example>")
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    again = compose(message, from_address="support@larkspur.example", from_name=None,
                    domain="larkspur.example", now=datetime.now(UTC))  # fmt: skip
    assert again["Message-ID"] == mail["Message-ID"]  # fixed before the first attempt
    other = OutboundMessage(ref=message.ref, text="Something else", in_reply_to="m1")
    assert outbound_message_id(other, "x") != outbound_message_id(message, "x")


def test_compose_refuses_without_an_address_or_to_ourselves() -> None:
    kwargs = {"from_address": "support@larkspur.example", "from_name": None,
              "domain": "larkspur.example", "now": datetime.now(UTC)}  # fmt: skip
    with pytest.raises(DeliveryRefused):
        compose(_outbound(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(DeliveryRefused):
        compose(_outbound(address="Support@Larkspur.example"), **kwargs)  # type: ignore[arg-type]


def test_parse_command_prints_one_json_line_per_file_and_goes_on(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    files = [str(FIXTURES / "gmail_reply.eml"), str(tmp_path / "missing.eml"),
             str(FIXTURES / "bounce_report.eml")]  # fmt: skip
    args = parser.parse_args(["email", "parse", *files])
    assert args.platform_command is parse_command
    out = io.StringIO()
    assert parse_command(args, Settings(), out) == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    keys = {"file", "from", "subject", "message_id", "thread_key", "text", "attachments",
            "auto", "error"}  # fmt: skip
    assert [set(line) for line in lines] == [keys] * 3
    assert lines[0]["thread_key"] == "3KQ7X7MB" and lines[0]["error"] is None
    assert lines[1]["error"].startswith("FileNotFoundError")
    assert lines[2]["auto"] == "bounce"


def test_settings_name_the_missing_email_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_EMAIL__ENABLED", "true")
    monkeypatch.setenv("FRONTDESK_EMAIL__IMAP_HOST", "imap.example.com")
    with pytest.raises(ConfigError, match="FRONTDESK_EMAIL__IMAP_USERNAME"):
        load_settings()
    with pytest.raises(ValueError, match=r"less than or equal to 1740"):
        EmailSettings(idle_reissue_seconds=1800)
    assert EmailSettings(from_address="help@shop.example").domain == "shop.example"


def test_frontdesk_email_parse_through_the_real_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["email", "parse", str(FIXTURES / "charset_iso2022jp.eml")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["text"] == "注文した椅子がまだ届きません。"


@pytest.mark.parametrize(
    ("sender", "reason"),
    [("noreply@shop.example", "no_reply_address"), ("do-not-reply@x.example", "no_reply_address"),
     ("postmaster@x.example", "bounce"), ("norah@x.example", None)],
)  # fmt: skip
def test_senders_nobody_reads(sender: str, reason: str | None) -> None:
    raw = f"From: {sender}\r\nSubject: hi\r\n\r\nYour order shipped.\r\n".encode()
    assert parse_mail(raw).auto == reason
