"""Response headers that close whole classes of attack, and the client address behind proxies."""

import logging
import re
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, make_response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from judging.extensions import signed_in

# No inline script anywhere: every script is a file served by the app itself.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)


def no_store(view):
    """The view's every answer is marked never to be kept by a browser or proxy (a page or a
    file holding a voting code, one's own data, a health check that must be live). Errors a
    view raises (abort) are answered as any other error page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


class SameHeadersOnEveryAnswer:
    """WSGI middleware: `headers` ((name, value) pairs) on every answer that has none of its own
    by that name."""

    def __init__(self, wsgi_app, headers: list[tuple[str, str]]):
        self.wsgi_app = wsgi_app
        self.headers = [(name.lower(), (name, value)) for name, value in headers]

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for key, pair in self.headers if key not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


class RouteNotPath(logging.Filter):
    """The development server's request lines (`flask run`, logger "werkzeug") name the route
    pattern, not the raw path: paths and query strings carry invitation and reset tokens,
    voting links and vote codes. "GET /invitation/Xy12… HTTP/1.1" becomes
    "GET /invitation/<token> HTTP/1.1"; a path no route matches becomes "(no route)"."""

    TARGET = re.compile(r"([A-Z]+) (\S+) (HTTP/\d(?:\.\d)?)")  # colours may precede it

    def __init__(self, url_map):
        super().__init__()
        self.adapter = url_map.bind("localhost")

    def _route(self, match: re.Match) -> str:
        method, target, version = match.groups()
        try:
            rule, _ = self.adapter.match(urlsplit(target).path, method=method, return_rule=True)
            route = rule.rule
        except HTTPException:
            route = "(no route)"
        return f"{method} {route} {version}"

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.TARGET.sub(self._route, a) if isinstance(a, str) else a for a in record.args
            )
        record.msg = self.TARGET.sub(self._route, str(record.msg))
        return True


def register(app: Flask) -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RouteNotPath) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RouteNotPath(app.url_map))

    if proxies := app.config["TRUSTED_PROXIES"]:
        # Only as many X-Forwarded-* hops as there are proxies we run; the rest is spoofable.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )

    # The same headers on every answer, computed once and added by a WSGI wrapper as plain
    # tuples as the answer starts (no header object, no per-header checks), where the view did
    # not set its own. It wraps everything, so an error page has them too.
    always = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if not app.config["DEVELOPMENT"]:
        always.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    app.wsgi_app = SameHeadersOnEveryAnswer(app.wsgi_app, always)  # type: ignore[method-assign]

    @app.after_request
    def private_pages_are_never_kept(response):
        headers = response.headers
        # A page whose address holds a secret (an invitation or reset token, a voting link)
        # is never kept either: a shared computer's cache would hand the link on.
        if request.view_args and "token" in request.view_args:
            headers["Cache-Control"] = "no-store"
        # Pages of a logged-in person may hold scores: never kept by a browser or proxy.
        if request.endpoint != "static" and signed_in():
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response
