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


def text_problem(value: str, *, multiline: bool = False) -> str | None:
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
