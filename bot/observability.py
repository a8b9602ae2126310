"""Logging set-up (text or JSON lines on stderr) that keeps personal data out of the logs.

With redaction on, the same detectors that guard the LLM path (``brain/redact.py``: validated
cards and IBANs, emails, phone numbers) mask personal data everywhere a record can carry it: the
message with its arguments (``RedactingFilter``), and the formatter's traceback, exception text
and stack (``RedactingFormatter``). Platform ids stay readable, because tracing a problem needs
them: Slack message timestamps ("1800000000.000123") and 17-20 digit ids such as Discord
snowflakes are never taken for phone or card numbers.

Every record logged while a message is being handled carries its ``conversation`` key and
``message`` id: the dispatcher binds them (``bind_message``) in a context variable, which
asyncio copies into every task started from there (the brain, the router, the desk paging), and
``ContextFilter`` puts them on the record. Text lines end with ``[conversation=... message=...]``;
JSON lines have ``conversation`` and ``message_id`` keys (``message`` is the line's text).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from brain.redact import Redactor

_HANDLER_NAME = "frontdesk"
# Slack message ts; bare 17-20 digit runs (Discord snowflakes and other 64-bit ids: a card of 17
# to 19 digits typed without separators is kept too, a limit docs/security.md states); and
# 13-digit runs starting with 1 (epoch milliseconds, 2001-2033; no card has that shape).
PLATFORM_IDS = (
    r"(?<![\w.])[0-9]{10}\.[0-9]{6}(?![\w.])"
    r"|(?<![\w\-.+])(?:[0-9]{17,20}|1[0-9]{12})(?![\w\-])"
)

_CONTEXT: ContextVar[tuple[str, str] | None] = ContextVar("frontdesk_log_context", default=None)

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def log_redactor() -> Redactor:
    return Redactor(keep=PLATFORM_IDS)


def bind_message(conversation: str, message: str) -> Token[tuple[str, str] | None]:
    """From now on (in this task and the tasks it starts) log lines name this message."""
    return _CONTEXT.set((conversation, message))


def unbind_message(token: Token[tuple[str, str] | None]) -> None:
    _CONTEXT.reset(token)


def clear_message() -> None:
    """From now on (in this task) log lines name no message: a task taking up other work."""
    _CONTEXT.set(None)


def current_message() -> tuple[str, str] | None:
    return _CONTEXT.get()


class ContextFilter(logging.Filter):
    """Puts the bound conversation and message ids on every record (masked like the text:
    an email conversation's key holds an address)."""

    def __init__(self, redactor: Redactor | None) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _CONTEXT.get()
        if bound is None:
            record.conversation = record.message_id = None
            record.context = ""
            return True
        conversation, message = bound
        if self.redactor is not None:
            conversation = self.redactor.redact(conversation).text
            message = self.redactor.redact(message).text
        record.conversation, record.message_id = conversation, message
        record.context = f" [conversation={conversation} message={message}]"
        return True


class RedactingFilter(logging.Filter):
    """Redacts the message (with its arguments filled in) of every record it passes."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor.redact(message).text
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts what the formatter adds itself: tracebacks with the exception's text, and stacks
    (their source lines can hold anything). ``redactor=None`` formats as usual."""

    def __init__(self, fmt: str | None = None, redactor: Redactor | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        # logging caches the formatted traceback on the record; another handler (a test
        # runner's, an embedding application's) may have cached it unredacted before us.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: _ExcInfo) -> str:
        return self._clean(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return self._clean(super().formatStack(stack_info))

    def _clean(self, text: str) -> str:
        return self.redactor.redact(text).text if self.redactor is not None else text


class JsonFormatter(RedactingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        conversation = getattr(record, "conversation", None)
        if conversation is not None:
            data["conversation"] = conversation
            data["message_id"] = str(getattr(record, "message_id", ""))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when it was set up
    (test runners and embedding applications swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_FILE_HANDLER_NAME = "frontdesk-file"
_OWN_LOGGERS = ("bot", "brain", "channels", "config", "frontdesk")
_NOISY = ("apscheduler", "asyncio", "bm25s")  # chatty at INFO about nothing an operator needs


class _ThirdPartyFilter(logging.Filter):
    """Other libraries' debug lines only at DEBUG, and the noisy ones' only from WARNING.

    A filter on our handler, not a level on their loggers: bm25s sets its own logger to DEBUG
    when it is imported, which happens after logging is set up."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        root = record.name.split(".", 1)[0]
        if root in _OWN_LOGGERS:
            return True
        if root in _NOISY:
            return record.levelno >= max(logging.WARNING, self.level)
        return record.levelno >= max(logging.INFO, self.level)


def configure_logging(
    level: str,
    fmt: str,
    redact_personal_data: bool,
    *,
    log_file: Path | None = None,
    console_level: str | None = None,
) -> None:
    """Log at ``level`` to stderr, or to ``log_file`` with only ``console_level`` and above on
    stderr (the terminal channel: log lines must not run through the customer's chat)."""
    numeric = logging.getLevelName(level)
    handlers: list[logging.Handler] = []
    console = StderrHandler(sys.stderr)
    console.set_name(_HANDLER_NAME)
    if console_level is not None:
        console.setLevel(console_level)
    handlers.append(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.set_name(_FILE_HANDLER_NAME)
        handlers.append(file_handler)
    redactor = log_redactor() if redact_personal_data else None
    for handler in handlers:
        if fmt == "json":
            handler.setFormatter(JsonFormatter(redactor=redactor))
        else:
            text = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
            handler.setFormatter(RedactingFormatter(text, redactor=redactor))
        if redactor is not None:
            handler.addFilter(RedactingFilter(redactor))
        handler.addFilter(ContextFilter(redactor))
        handler.addFilter(_ThirdPartyFilter(numeric))
    root = logging.getLogger()
    # Replace only our own handlers: embedding applications and test runners keep theirs.
    for old in [h for h in root.handlers if h.get_name() in (_HANDLER_NAME, _FILE_HANDLER_NAME)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
