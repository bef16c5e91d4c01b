"""The Flask class the app is built on: Flask, minus two pieces of work it repeats on every
request although their answer never changes while the process runs (issue 17: the pipeline
costs no more than bare Flask's own work).

- `ensure_sync`: Flask asks `inspect` whether each hook and view is an `async def`, for every
  hook of every request (a dozen here). The answer is kept per function.
- The session cookie's signing serializer: Flask builds a new one, with its key derivation
  settings, to open and again to save every session. It is kept per secret key (and fallbacks),
  so a changed key still takes effect at once.
"""

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._serializers[key]
        except KeyError:
            serializer = super().get_signing_serializer(app)
            if len(self._serializers) > 8:  # keys rotated many times in one process
                self._serializers.clear()
            self._serializers[key] = serializer
            return serializer


class App(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_interface = CookieSessions()  # one per app: apps may differ in keys
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            synchronous = self._sync[func] = super().ensure_sync(func)
            return synchronous
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
