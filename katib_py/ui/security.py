"""The UI's guard: a bearer token on every request, a cookie after the first visit, CSRF on writes.

Why not an auth library: the rule is three lines of comparison (hmac.compare_digest) and the
middleware must also move a `?token=` from the URL into an HttpOnly cookie, which none does.

- A request is let in with `Authorization: Bearer TOKEN`, the cookie, or once `?token=TOKEN`
  (answered with a redirect to the same URL without it, the cookie set: the token leaves the
  address bar and the history).
- A mutating request authenticated by the cookie must carry `X-CSRF-Token` (the value the page
  reads from its <meta>, an HMAC of the token) and, when the browser sends one, an Origin equal to
  the Host. A bearer header cannot be sent cross-site without CORS, which the UI never grants.
- Every answer carries a Content-Security-Policy without inline scripts, so a string that slipped
  through as markup still could not run.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

COOKIE = "katib_py_ui"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# plotly.js compiles WebGL shaders (parcoords) with Function(); it also writes inline styles.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"katib-py-ui csrf", hashlib.sha256).hexdigest()


def _equal(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=security_headers())


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def guard(token: str) -> Middleware:
    """The aiohttp middleware that enforces the rules of this module's docstring."""
    csrf = csrf_token(token)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.query.get("token")
        if given is not None:
            if not _equal(given, token):
                return _refuse(401, "wrong token")
            query = {k: v for k, v in request.query.items() if k != "token"}
            location = request.rel_url.with_query(query)
            redirect = web.HTTPSeeOther(location=str(location), headers=security_headers())
            redirect.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            return redirect
        auth = request.headers.get("Authorization", "")
        by_header = auth.startswith("Bearer ") and _equal(auth[len("Bearer ") :], token)
        by_cookie = _equal(request.cookies.get(COOKIE), token)
        if not (by_header or by_cookie):
            return _refuse(401, "this UI needs its token: open the URL `katib-py ui` (or `up`) printed")
        if request.method not in SAFE_METHODS and not by_header:
            if not _equal(request.headers.get(CSRF_HEADER), csrf):
                return _refuse(403, "missing or wrong CSRF token")
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != request.host:
                return _refuse(403, f"cross-origin request refused (Origin {origin[:100]})")
        response = await handler(request)
        if not response.prepared:
            for key, value in security_headers().items():
                response.headers.setdefault(key, value)
        return response

    return middleware
