"""Every CSV the app writes goes through `write_csv`: safe to open in a spreadsheet.

A cell of text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`).
Such text, whoever typed it (a juror's comment, a nominee imported from a file), is written
with a leading apostrophe, as OWASP advises ("CSV Injection"): the spreadsheet shows the text,
and the apostrophe, instead of running it. Numbers the app computes (ints, floats, booleans)
are written as they are: `-2.5` from a float is data, and stays a number in the spreadsheet.
Text that merely looks like a number (`-2+3` typed as a nominee's city) is text, and is
prefixed.

Files served for download start with a UTF-8 byte-order mark, so that Excel reads
"Müller-Łęcka" right; CSV printed on the terminal by the CLI has none (a BOM would end up in
the first field of every `cut`, `csvkit` or `pandas` reading the pipe; redirect to a file and
open it with "Data > From Text/CSV", which asks for UTF-8).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: object) -> object:
    """The value as a spreadsheet may read it: numbers as numbers, formula-like text defused."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool) -> str:
    """The header and rows as CSV text, every cell through `safe_cell`; `bom` for downloads."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
