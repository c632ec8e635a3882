"""What each kind of import (forecast, PO lines, commits, production reports, ...) plugs into the importer.

The importer (cogrow.imports.services) owns everything generic: reading CSV or XLSX bytes into rows,
encodings, delimiters, size limits, header matching, cell cleaning, the preview, duplicate-file
detection, running large files as a Celery task, and the error report. A domain registers an
ImportKind that owns only its own meaning: its columns, how to check the parsed rows against the
relationship, what a preview says, and how to apply the rows in one transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cogrow.core.auth import Actor
    from cogrow.imports.models import ImportBatch
    from cogrow.relationships.models import SupplyRelationship


@dataclass(frozen=True)
class Column:
    """One column of a file. `parse` turns a cleaned cell (str, or None when empty) into a value, or raises
    ValueError with a translated message naming what is wrong with it."""

    key: str                               # the name used in rows and in error reports
    headers: tuple[str, ...]               # accepted header texts (case and spacing ignored), English and Korean
    parse: Callable[[str | None], Any]
    required: bool = True
    example: str = ""


@dataclass(frozen=True)
class RowError:
    row: int            # 1-based row number as the user sees it in the file (the header is row 1)
    column: str | None  # the column's header text or key; None for a whole-row problem
    message: str        # translated, in the user's language


@dataclass(slots=True)  # one per data row of a file: 200,000 of them must stay small
class ParsedRow:
    row: int
    values: dict[str, Any]


@dataclass
class ImportKind:
    name: str                                    # "forecast", "po_lines", "commits", "production", ...
    label: Callable[[], str]                     # a translated label, e.g. lambda: _("Forecast")
    org_kind: str                                # "prime" or "supplier": the side that may upload it
    roles: tuple[str, ...]                       # roles that may upload it
    columns: Sequence[Column]
    # Business checks on the whole set, with the relationship: unknown part numbers, duplicates, past weeks.
    # Returns the rows ready to apply (any shape the kind likes) and every error found.
    validate: Callable[[Actor, SupplyRelationship, list[ParsedRow]], tuple[Any, list[RowError]]]
    # What will change, for the preview page and the API: {"summary": {...}, "lines": [[...], ...]}.
    preview: Callable[[Actor, SupplyRelationship, Any], dict[str, Any]]
    # Apply the validated rows inside the caller's transaction (do not commit); return a summary.
    # `progress(done, total)` may be called to move a progress bar for large files.
    apply: Callable[[Actor, SupplyRelationship, Any, ImportBatch, Callable[[int, int], None]], dict[str, Any]]
    # Rows for the downloadable template (with headers from `columns`).
    example_rows: Callable[[Actor, SupplyRelationship], Iterable[Sequence[Any]]] = field(default=lambda a, r: [])
    # What confirming needs beyond the file (e.g. a forecast that cuts firm-zone quantities needs a `reason`):
    # (batch, the confirm's options) -> {field: message}; an error refuses the confirm with a 422, nothing changed.
    confirm_check: Callable[[ImportBatch, dict[str, Any]], dict[str, str]] | None = None
    # Called after the apply's transaction committed (e.g. to hand notices to the mail worker).
    after_commit: Callable[[ImportBatch], None] | None = None
    # Where the applied result lives: (relationship, result) -> (label, url) or None.
    result_link: Callable[[SupplyRelationship, dict[str, Any]], tuple[str, str] | None] | None = None
    # Uploaded on a page of its own (EDI interchanges: the EDI tab), so the generic imports page does not offer it.
    own_page: bool = False


KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> ImportKind | None:
    return KINDS.get(name)
