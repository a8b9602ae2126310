"""What the OpenAI and Anthropic clients share: key scrubbing, status mapping, token counts.

Both SDKs come from the same generator and fail the same ways; the mapping to our errors lives
here once so the two clients cannot drift apart.
"""

from __future__ import annotations

import re

from brain.providers.llm import ProviderRejected, ProviderUnavailable
from config.errors import ProviderError

NO_KEY = "not-needed"  # local servers ignore the key; the SDKs refuse to run without one
_KEY_LIKE = re.compile(r"\b(?:sk|key)-[A-Za-z0-9_*.\-]{6,}")
_RETRYABLE = frozenset({408, 409, 429})  # plus every 5xx, including Anthropic's 529
_STATUS_TEXT = {
    400: "request rejected",
    401: "authentication failed, check the API key",
    402: "payment required",
    403: "permission denied",
    404: "not found, check the model name and base URL",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    422: "request rejected",
    429: "rate limited",
    529: "overloaded",
}


class Scrubber:
    """Removes the API key (and anything key-shaped) from text that may reach logs."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, text: str) -> str:
        if len(self.secret) >= 8:  # a real key; a placeholder or toy key would eat words
            text = text.replace(self.secret, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)[:300]

    def cause(self, err: BaseException) -> str:
        cause = err.__cause__ or err.__context__
        return self(f"{type(cause).__name__}: {cause}" if cause else str(err))


def status_error(name: str, status: int, message: str, scrub: Scrubber) -> ProviderError:
    """An HTTP error status: worth trying elsewhere (unavailable) or not (rejected)."""
    text = _STATUS_TEXT.get(status, "server error" if status >= 500 else "refused")
    detail = f"{name}: {text} (HTTP {status}): {scrub(message)}"
    if status in _RETRYABLE or status >= 500:
        return ProviderUnavailable(detail)
    return ProviderRejected(detail)


def count(value: object) -> int:
    """A token count from an unvalidated response: a positive int, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
