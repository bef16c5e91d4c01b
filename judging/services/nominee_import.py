"""Importing an award's nominees from CSV or JSON: a preview that shows every row's errors
before anything is written, then all of them or none.

Nothing is kept between the preview and the confirmation: the confirmation sends the same text
back, and it is read and checked again, against the award's nominees as they are by then.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from typing import cast

from marshmallow import ValidationError
from sqlalchemy import select

from judging import inputs
from judging.extensions import db
from judging.models import Award, Nominee, User
from judging.services.audit import record_event
from judging.services.errors import ServiceError
from judging.services.nominees import (
    FIELDS,
    NomineeError,
    entry_schema,
    field_errors,
    flush_or_refuse,
    next_position,
    slug_from,
    snapshot,
)

REQUIRED = ("title", "organisation", "city", "country")
MAX_ROWS = 1000
# Ten megabytes: 1,000 nominees with long summaries fit; anything bigger is not a nominee list.
MAX_BYTES = 10_000_000
FORMATS = ("csv", "json")


class ImportProblem(ServiceError):
    """The text as a whole cannot be read as nominees, so there is no row to show."""


class ImportRefused(NomineeError):
    """At the confirmation, rows have errors (the award's nominees may have changed since the
    preview); the preview says which."""

    def __init__(self, preview: "ImportPreview"):
        super().__init__(
            f"{len(preview.rows_with_errors)} of {len(preview.rows)} rows have errors;"
            " nothing was imported."
        )
        self.preview = preview


@dataclass
class ImportSource:
    """The text to import and how to read it; re-sent with the confirmation, checked again."""

    text: str
    format: str  # "csv" or "json"


@dataclass
class ImportRow:
    number: int  # as the admin finds it: the spreadsheet's row (CSV), the list item (JSON)
    values: dict[str, str]  # what the file says, as text, for the preview
    slug: str  # the slug it will get, given or made from the title
    slug_from_title: bool
    errors: dict[str, list[str]] = field(default_factory=dict)
    entry: dict | None = None  # the validated entry, when it has no error


@dataclass
class ImportPreview:
    source: ImportSource
    rows: list[ImportRow]

    @property
    def rows_with_errors(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.rows_with_errors


def read_upload(data: bytes, filename: str) -> ImportSource:
    """An uploaded file as text: CSV or JSON by its name, UTF-8 (a BOM is fine)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in FORMATS:
        raise ImportProblem(
            f"“{filename}” is not a .csv or .json file. From a spreadsheet, use "
            "“Save as” or “Download” with the format “CSV UTF-8”."
        )
    if not data.strip():
        raise ImportProblem(f"The file “{filename}” is empty.")
    if len(data) > MAX_BYTES:
        raise ImportProblem(
            f"The file is larger than {MAX_BYTES // 1_000_000} MB; import at most "
            f"{MAX_ROWS:,} nominees at a time."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportProblem(
            f"The file is not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x})."
            " Save it again with the encoding “UTF-8” (“CSV UTF-8” in a spreadsheet)."
        ) from None
    return ImportSource(text=text, format=extension)


def pasted(text: str) -> ImportSource:
    """Pasted text: JSON if it starts like JSON, else CSV."""
    text = text.lstrip("\ufeff")
    return ImportSource(text=text, format="json" if text.lstrip()[:1] in ("[", "{") else "csv")


def _rows_of_json(text: str) -> list[tuple[int, object]]:
    try:
        document = inputs.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblem(f"This is not valid JSON: {inputs.json_problem(exc)}.") from None
    if isinstance(document, dict) and isinstance(document.get("nominees"), list):
        document = document["nominees"]
    if not isinstance(document, list):
        raise ImportProblem(
            'Expected a JSON list of nominees, [{"title": ...}, ...], or {"nominees": [...]}.'
        )
    return list(enumerate(document, start=1))


def _delimiter(header_line: str) -> str:
    """Spreadsheets in much of Europe save CSV with semicolons; follow the header row."""
    return max((",", ";", "\t"), key=header_line.count) if header_line.strip() else ","


def _rows_of_csv(text: str) -> list[tuple[int, object]]:
    header_line = text.lstrip("\n").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(header_line))
    try:
        # Numbered as a spreadsheet numbers its rows: blank ones count, the header is row 1.
        records = list(enumerate(reader, start=1))
    except csv.Error as exc:
        raise ImportProblem(f"This CSV cannot be read at line {reader.line_num}: {exc}.") from None
    records = [(number, cells) for number, cells in records if any(c.strip() for c in cells)]
    if not records:
        raise ImportProblem("There is nothing to import.")
    _, header = records[0]
    # A trailing delimiter makes a column without a name: harmless while it stays empty.
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c and c not in FIELDS]
    missing = [c for c in REQUIRED if c not in columns]
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if unknown or missing or duplicated:
        problems = []
        if missing:
            problems.append(f"it lacks the column{'s' * (len(missing) > 1)} {', '.join(missing)}")
        if unknown:
            names = ", ".join(f"“{c}”" for c in unknown)
            problems.append(f"it has the unknown column{'s' * (len(unknown) > 1)} {names}")
        if duplicated:
            problems.append(f"it repeats {', '.join(duplicated)}")
        raise ImportProblem(
            f"The first row must name the columns ({', '.join(FIELDS)}; slug and summary are "
            f"optional), but {'; '.join(problems)}."
        )
    rows: list[tuple[int, object]] = []
    for number, cells in records[1:]:
        row: dict[str, object] = {c: cell for c, cell in zip(columns, cells, strict=False) if c}
        if any(cell.strip() for i, cell in enumerate(cells) if i >= len(columns) or not columns[i]):
            row["_extra"] = True
        rows.append((number, row))
    return rows


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _check_row(number: int, item: object, award_slugs: dict[str, str]) -> ImportRow:
    if not isinstance(item, dict):
        return ImportRow(
            number,
            {},
            "",
            False,
            {"row": ["Must be an object with title, organisation, city and country."]},
        )
    raw = {k: v.strip() if isinstance(v, str) else v for k, v in item.items() if k != "_extra"}
    slug_from_title = raw.get("slug") in (None, "")
    if slug_from_title:
        raw["slug"] = slug_from(raw["title"]) if isinstance(raw.get("title"), str) else ""
    row = ImportRow(
        number,
        {name: _as_text(item.get(name)) for name in FIELDS},
        _as_text(raw["slug"]),
        slug_from_title,
    )
    if "_extra" in item:
        row.errors["row"] = ["Has a value in a column the first row does not name."]
    if slug_from_title and not raw["slug"]:
        if raw.get("title"):
            row.errors["slug"] = ["No slug can be made from this title; give one."]
        del raw["slug"]
    try:
        entry = entry_schema(raw).load(raw)
    except ValidationError as exc:
        for name, messages in field_errors(exc, raw).items():
            row.errors.setdefault(name, []).extend(messages)
    else:
        if not row.errors:
            row.entry = entry
    if "slug" not in row.errors and row.slug in award_slugs:
        origin = " (made from the title)" if slug_from_title else ""
        row.errors["slug"] = [
            f"“{award_slugs[row.slug]}” already has the slug “{row.slug}”{origin} in this award;"
            " give this nominee a slug of its own, or leave it out of the file."
        ]
        row.entry = None
    return row


def preview_import(award: Award, source: ImportSource) -> ImportPreview:
    """Every row with its errors, field by field, before anything is written."""
    if source.format not in FORMATS:
        raise ImportProblem("Choose a CSV or JSON file.")
    if "\x00" in source.text:
        raise ImportProblem("This is not text: CSV or JSON is expected.")
    if len(source.text.encode()) > MAX_BYTES:
        raise ImportProblem(
            f"This is larger than {MAX_BYTES // 1_000_000} MB; import at most "
            f"{MAX_ROWS:,} nominees at a time."
        )
    # One kind of line break, so that the text reads the same when it comes back for the
    # confirmation (a browser sends a hidden field's line breaks back as it likes).
    text = source.text.replace("\r\n", "\n").replace("\r", "\n")
    source = ImportSource(text=text, format=source.format)
    if not text.strip():
        raise ImportProblem("There is nothing to import: it is empty.")
    items = _rows_of_json(text) if source.format == "json" else _rows_of_csv(text)
    if not items:
        raise ImportProblem("There are no nominees in it, only the column names.")
    if len(items) > MAX_ROWS:
        raise ImportProblem(
            f"It has {len(items):,} nominees; import at most {MAX_ROWS:,} at a time."
        )
    award_slugs = dict(
        db.session.execute(
            select(Nominee.slug, Nominee.title).where(Nominee.award_id == award.id)
        ).all()
    )
    rows = [_check_row(number, item, award_slugs) for number, item in items]
    first_with: dict[str, ImportRow] = {}
    for row in rows:
        if not row.slug or "slug" in row.errors:
            continue
        if (earlier := first_with.get(row.slug)) is None:
            first_with[row.slug] = row
            continue
        origin = " (made from the title)" if row.slug_from_title else ""
        row.errors["slug"] = [
            f"Repeats the slug “{row.slug}”{origin} of row {earlier.number}; each nominee needs "
            "its own."
        ]
        row.entry = None
    return ImportPreview(source=source, rows=rows)


def import_nominees(award: Award, source: ImportSource, *, actor: User) -> list[Nominee]:
    """Check the text again and add every nominee in it after the existing ones, or none.

    Raises ImportProblem for text that cannot be read, ImportRefused for rows with errors.
    """
    preview = preview_import(award, source)
    if not preview.ok:
        raise ImportRefused(preview)
    start = next_position(award)
    created = [  # preview.ok: every row has its validated entry
        Nominee(award_id=award.id, position=start + offset, **cast(dict, row.entry))
        for offset, row in enumerate(preview.rows)
    ]
    db.session.add_all(created)
    flush_or_refuse(
        "Another nominee with one of these slugs was added meanwhile; nothing was imported."
    )
    for nominee in created:
        record_event(
            "nominee.created",
            f"nominee:{nominee.id}",
            {
                "award": award.slug,
                "source": f"{source.format} import",
                "before": None,
                "after": snapshot(nominee),
            },
            actor=actor,
        )
    return created
