"""Health checks for a load balancer: /healthz (the process answers), /readyz (the database too).

Neither needs a login, a CSRF token or a session, and neither counts against a rate limit: a
balancer probing every few seconds must never be refused, and must never be handed a cookie.
"""

import logging
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.engine import Engine

from judging.extensions import csrf, db, limiter
from judging.security import no_store

blueprint = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

# One check in flight per process and database: a database that hangs must not pile up a
# thread per probe. Probes arriving while one waits share its answer.
_in_flight: dict[int, Future] = {}
_lock = threading.Lock()


def _select_one(engine: Engine, future: Future) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
    except Exception as exc:  # whatever went wrong, the answer is "not ready"
        future.set_exception(exc)
    else:
        future.set_result(True)


def _check(engine: Engine) -> Future:
    with _lock:
        for key in [key for key, future in _in_flight.items() if future.done()]:
            del _in_flight[key]  # only checks still waiting are kept
        future = _in_flight.get(id(engine))
        if future is not None:
            return future
        future = _in_flight[id(engine)] = Future()
    threading.Thread(target=_select_one, args=(engine, future), daemon=True).start()
    return future


def _unavailable(reason: str):
    response = jsonify(status="unavailable", reason=reason)
    response.status_code = 503
    return response


@blueprint.route("/healthz")
@no_store
def healthz():
    """The process is up and answering; nothing else is checked. The answer never changes, so
    it is not serialised anew for every probe: this endpoint measures the pipeline alone."""
    return current_app.response_class(HEALTHY, mimetype="application/json")


HEALTHY = b'{"status":"ok"}\n'  # what jsonify(status="ok") writes


@blueprint.route("/readyz")
@no_store
def readyz():
    """Ready for traffic: the database answers SELECT 1 within READYZ_TIMEOUT seconds."""
    timeout = current_app.config["READYZ_TIMEOUT"]
    try:
        _check(db.engine).result(timeout=timeout)
    except FutureTimeout:
        log.warning("readiness: the database did not answer within %s s", timeout)
        return _unavailable(f"the database did not answer within {timeout} s")
    except Exception as exc:
        # The class only: a driver's message may name the host, the user or worse.
        log.warning("readiness: the database is unreachable (%s)", type(exc).__name__)
        return _unavailable(f"the database is unreachable ({type(exc).__name__})")
    return jsonify(status="ready")


csrf.exempt(blueprint)
limiter.exempt(blueprint)
