"""The request pipeline: the request log written off the request thread, and never fatal."""

import json
import logging
import threading

from judging import observability


def _queue_handler() -> observability.RequestLineQueue:
    return next(
        h for h in logging.getLogger().handlers if isinstance(h, observability.RequestLineQueue)
    )


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[tuple[logging.LogRecord, str]] = []

    def emit(self, record):
        self.records.append((record, threading.current_thread().name))


def test_request_lines_are_written_by_the_writer_thread_with_every_field(make_app, monkeypatch):
    app = make_app(LOG_FORMAT="json")
    handler = _queue_handler()
    recorder = Recorder()
    monkeypatch.setattr(handler, "target", recorder)
    response = app.test_client().get("/healthz")
    observability.flush_request_log()
    lines = [(r, t) for r, t in recorder.records if r.name == "judging.requests"]
    (record, thread), *_ = lines
    assert thread != threading.current_thread().name
    assert record.request_id == response.headers["X-Request-ID"]
    fields = json.loads(observability.JsonFormatter().format(record))
    assert {"method", "route", "endpoint", "status", "duration_ms", "user_id"} <= fields.keys()
    assert (fields["route"], fields["status"]) == ("/healthz", 200)


def test_an_error_is_written_at_once_after_the_lines_before_it(make_app, monkeypatch):
    make_app()
    handler = _queue_handler()
    recorder = Recorder()
    monkeypatch.setattr(handler, "target", recorder)
    logging.getLogger("judging.requests").info("queued")
    logging.getLogger("judging.test").error("at once")
    # No flush: the error waited for the line queued before it, and is written already.
    assert [r.getMessage() for r, _ in recorder.records] == ["queued", "at once"]


class Broken(logging.Handler):
    def handle(self, record):
        raise RuntimeError("the log collector is gone")


def test_a_failing_log_handler_never_fails_a_request(make_app, capsys):
    app = make_app()
    broken = Broken()
    requests_log = logging.getLogger("judging.requests")
    requests_log.addHandler(broken)
    try:
        response = app.test_client().get("/healthz")
    finally:
        requests_log.removeHandler(broken)
    assert response.status_code == 200
    assert "the log collector is gone" in capsys.readouterr().err


def test_a_failing_writer_keeps_writing(make_app, monkeypatch):
    app = make_app()
    handler = _queue_handler()
    recorder = Recorder()
    monkeypatch.setattr(handler, "target", Broken())
    assert app.test_client().get("/healthz").status_code == 200
    observability.flush_request_log()
    monkeypatch.setattr(handler, "target", recorder)
    assert app.test_client().get("/healthz").status_code == 200
    observability.flush_request_log()
    assert [r.status for r, _ in recorder.records if r.name == "judging.requests"] == [200]
