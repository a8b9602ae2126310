"""The HTTP plumbing every web response goes through: problem+json errors (and nothing else
leaks: no tracebacks, no server banner), security headers, CORS allow-list, body size caps,
client addresses for rate limits."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from config.settings import WebSettings

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROBLEM = "application/problem+json"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"


class Problem(Exception):
    """Raised by a handler: answered as application/problem+json (RFC 9457)."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(title)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem(status: int, title: str, detail: str | None = None,
            headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM,
                        headers=headers)  # fmt: skip


def client_ip(request: web.Request, trust_forwarded: bool) -> str:
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded.strip():
            return forwarded.split(",")[0].strip()
    return request.remote or "unknown"


class Guard:
    """The middleware: CORS, size cap, errors as problems, security headers."""

    def __init__(self, settings: WebSettings) -> None:
        self.origins = frozenset(settings.cors_origins)
        self.max_body = settings.max_body_bytes
        ancestors = " ".join(settings.frame_ancestors) or "'none'"
        self.frame_ancestors = ancestors
        self.deny_frames = not settings.frame_ancestors

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        try:
            if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                response: web.StreamResponse = self._preflight(origin)
            else:
                length = request.content_length
                if length is not None and length > self.max_body:
                    raise Problem(413, "Request body too large",
                                  f"at most {self.max_body} bytes")  # fmt: skip
                response = await handler(request)
        except Problem as err:
            response = problem(err.status, err.title, err.detail, err.headers)
        except web.HTTPRequestEntityTooLarge:
            response = problem(413, "Request body too large", f"at most {self.max_body} bytes")
        except web.HTTPException as err:
            if err.status < 400:
                raise
            response = problem(err.status, err.reason)
        except Exception:
            logger.exception("web API error on %s %s", request.method, request.path)
            response = problem(500, "Internal error", "the error was logged")
        if not response.prepared:  # a WebSocket is already open: its headers went out
            self._secure(request, response, origin)
        return response

    def _preflight(self, origin: str | None) -> web.Response:
        if origin is None or origin not in self.origins:
            raise Problem(403, "Origin not allowed", "add it to FRONTDESK_WEB__CORS_ORIGINS")
        return web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        })  # fmt: skip

    def allowed_origin(self, request: web.Request) -> bool:
        """Same-origin or listed (browsers send Origin on WebSockets and cross-site calls)."""
        origin = request.headers.get("Origin")
        if origin is None or origin in self.origins:
            return True
        return origin == f"{request.scheme}://{request.host}"

    def _secure(self, request: web.Request, response: web.StreamResponse,
                origin: str | None) -> None:  # fmt: skip
        h = response.headers
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h.setdefault("Content-Security-Policy",
                     f"default-src 'none'; frame-ancestors {self.frame_ancestors}")  # fmt: skip
        if self.deny_frames:
            h["X-Frame-Options"] = "DENY"
        h.setdefault("Cache-Control", "no-store")
        h["Server"] = "frontdesk"
        if origin is not None and origin in self.origins:
            h["Access-Control-Allow-Origin"] = origin
            h["Access-Control-Expose-Headers"] = "Retry-After"
            h["Vary"] = "Origin"
