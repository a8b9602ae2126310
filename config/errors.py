"""The one exception tree of Frontdesk.

Everything Frontdesk raises on purpose derives from ``FrontdeskError`` so the CLI and the
dispatcher's error boundary can tell our failures (clear message, no traceback) from bugs.
It lives in ``config`` because every other package may import ``config``.
"""

from __future__ import annotations


class FrontdeskError(Exception):
    """Base of every error Frontdesk raises deliberately."""


class ConfigError(FrontdeskError):
    """A setting is missing, malformed or inconsistent. The message names the setting."""


class ChannelError(FrontdeskError):
    """A channel adapter could not receive or deliver a message."""


class DeliveryRefused(ChannelError):
    """The platform will never accept this message (unknown conversation, ended session)."""


class ProviderError(FrontdeskError):
    """An LLM provider failed (timeout, refusal, malformed answer, ...)."""


class StoreError(FrontdeskError):
    """The state store is unreachable or refused an operation."""
