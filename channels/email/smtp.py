"""Handing one composed mail to the SMTP server (aiosmtplib): STARTTLS, implicit TLS or none.

aiosmtplib makes one attempt per call; retries belong to the dispatcher's outbox, which
re-sends the same mail (same Message-ID). Errors are split the way the dispatcher needs them:
``DeliveryRefused`` when the server rejected the mail for good (5xx on recipient or data),
``ChannelError`` for anything a later attempt may fix (connection, timeout, 4xx, a wrong
password an operator will correct).
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from typing import Protocol

from config.errors import ChannelError, DeliveryRefused
from config.settings import EmailSettings

logger = logging.getLogger(__name__)


class MailSender(Protocol):
    async def send(self, mail: EmailMessage) -> None: ...


def tls_context(settings: EmailSettings) -> ssl.SSLContext:
    cafile = str(settings.tls_ca_file) if settings.tls_ca_file is not None else None
    return ssl.create_default_context(cafile=cafile)


class SmtpSender:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._tls = tls_context(settings) if settings.smtp_security != "none" else None

    async def send(self, mail: EmailMessage) -> None:
        import aiosmtplib  # noqa: PLC0415  (loaded with the channel, not with the CLI)

        s = self.settings
        password = s.smtp_password.get_secret_value() if s.smtp_password is not None else None
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=password,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                tls_context=self._tls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [r.code for r in err.recipients]
            if codes and all(code >= 500 for code in codes):
                raise DeliveryRefused(f"SMTP refused the recipient: {err}") from err
            raise ChannelError(f"SMTP deferred the recipient: {err}") from err
        except aiosmtplib.SMTPAuthenticationError as err:
            raise ChannelError(f"SMTP login failed (check FRONTDESK_EMAIL__SMTP_*): {err}") from err
        except aiosmtplib.SMTPResponseException as err:
            if err.code >= 500 and isinstance(err, aiosmtplib.SMTPDataError):
                raise DeliveryRefused(f"SMTP refused the message: {err}") from err
            raise ChannelError(f"SMTP error {err.code}: {err.message}") from err
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            raise ChannelError(f"SMTP server unreachable: {err}") from err
