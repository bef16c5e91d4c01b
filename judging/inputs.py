"""Input that people type or upload, checked the same way on every path into the app.

- `text_problem`: titles, names and other text shown to others must not hold characters that
  are invisible or change the direction of what follows (U+202E turns "exe.doc" into "cod.exe"),
  nor, on one line, a line break (an award title ends up in an email's Subject header). The
  forms, the import, the seed file, the CLI and the services all call it.
- `loads`: JSON parsed without the two ways Python's parser fails outside JSONDecodeError
  (a document nested thousands deep, a number of thousands of digits); both become a
  JSONDecodeError naming the problem, which every caller already answers with a message.
"""

import json
import unicodedata

# The largest id, version or count a database INTEGER column holds (PostgreSQL's is 32 bits;
# SQLite refuses anything beyond 64 bits with an OverflowError): bigger input is refused first.
DATABASE_INT_MAX = 2**31 - 1

# Allowed although of category Cf: joiners that Persian, Indic scripts and emoji need.
_JOINERS = {"\u200c", "\u200d"}
_LINE_BREAKS = {"\n", "\r"}
_MULTILINE_ALLOWED = {"\n", "\r", "\t"}


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def text_problem(value: object, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored as shown text, or None when it is fine.

    Refused: control characters (line breaks and tabs too, unless `multiline`), invisible
    format characters such as the bidirectional overrides U+202A–U+202E and isolates
    U+2066–U+2069, marks U+200E/U+200F, zero-width space U+200B and U+FEFF, line and paragraph
    separators, and lone surrogates.
    """
    if not isinstance(value, str):
        return None
    for char in value:
        if multiline and char in _MULTILINE_ALLOWED:
            continue
        category = unicodedata.category(char)
        if char in _JOINERS:
            continue
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            if char in _LINE_BREAKS or char in ("\u2028", "\u2029"):
                return "must stay on one line: remove the line break."
            return (
                f"contains an invisible or text-direction character ({_describe(char)}); "
                "remove it (it often comes with text copied from elsewhere)."
            )
    return None


def marshmallow_plain_text(multiline: bool = False):
    """`text_problem` as a marshmallow validator."""
    from marshmallow import ValidationError

    def check(value):
        if problem := text_problem(value, multiline=multiline):
            raise ValidationError(problem)

    return check


class PlainText:
    """`text_problem` as a WTForms validator."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        from wtforms.validators import StopValidation

        if problem := text_problem(field.data, multiline=self.multiline):
            raise StopValidation(f"This {problem}")


class JSONTooComplex(json.JSONDecodeError):
    """Valid JSON syntax that Python will not build: it has no line and column to point at."""

    def __init__(self, message: str):
        super().__init__(message, "(the whole document)", 0)


# Pages whose form holds a whole nominee list (judging/services/nominee_import.py, 10 MB).
LARGE_FORMS = {"admin.nominee_import_preview", "admin.nominee_import_confirm"}
LARGE_JSON = {"api.put_my_evaluation"}


def _strict_limited_stream():
    from werkzeug.exceptions import RequestEntityTooLarge
    from werkzeug.wsgi import LimitedStream

    class StrictLimitedStream(LimitedStream):
        """werkzeug's stream of a body sent without Content-Length (chunked), which returns the
        first `limit` bytes of a longer body as if they were all of it: a truncated JSON body or
        form would be read as a whole one. Here reading past the limit is a 413."""

        def readall(self) -> bytes:
            data = super().readall()
            if self.is_exhausted and self._limit_is_max and self._stream.read(1):
                raise RequestEntityTooLarge()
            return data

    return StrictLimitedStream


def request_class():
    """Flask's Request, whose body stream refuses to truncate a chunked body at the limit."""
    from flask import Request
    from werkzeug.utils import cached_property
    from werkzeug.wsgi import LimitedStream, get_input_stream

    strict = _strict_limited_stream()

    class StrictRequest(Request):
        @cached_property
        def stream(self):
            stream = get_input_stream(self.environ, max_content_length=self.max_content_length)
            if isinstance(stream, LimitedStream) and stream._limit_is_max:
                stream.__class__ = strict
            return stream

        def _get_file_stream(self, *args, **kwargs):
            # Kept, so that a body refused halfway through an upload (413) does not leave
            # its temporary file open: werkzeug closes only the uploads it finished.
            file = super()._get_file_stream(*args, **kwargs)
            self.__dict__.setdefault("_spooled", []).append(file)
            return file

        def close(self) -> None:
            super().close()
            for file in self.__dict__.get("_spooled", ()):
                file.close()

    return StrictRequest


def register_body_limits(app) -> None:
    """Per-request body limits, set before anything reads the body (the CSRF check does)."""
    from flask import request

    app.request_class = request_class()

    @app.before_request
    def limit_the_body():
        if request.endpoint in LARGE_FORMS:
            request.max_form_memory_size = app.config["MAX_CONTENT_LENGTH"]
        elif request.endpoint in LARGE_JSON:
            request.max_content_length = app.config["EVALUATION_MAX_BODY"]
        elif request.path.startswith("/api/"):
            request.max_content_length = app.config["API_MAX_BODY"]


def loads(text: str | bytes):
    """json.loads, with a too-deep document or a too-long number as a JSONDecodeError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise JSONTooComplex("it is nested too deeply") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() refuses numbers of more than 4,300 digits
        raise JSONTooComplex("it holds a number with too many digits") from None


def json_problem(exc: json.JSONDecodeError) -> str:
    """The parser's complaint, with its line and column when it has them."""
    if isinstance(exc, JSONTooComplex):
        return exc.msg
    return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
