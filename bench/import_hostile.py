"""Benchmark: hostile imports, read the way the worker reads them, beside the plainest read of the same file.

Two XLSX files, written directly as sheet XML (openpyxl would take minutes per million cells):
  * max-rows: 1,048,576 forecast rows (the most Excel holds). IMPORT_MAX_ROWS (200,000) refuses it; we time the
    refusal, i.e. reading 200,001 rows.
  * all-bad: 200,000 forecast-commit rows whose 5 cells are all wrong (1,000,000 errors). Reading stops past
    IMPORT_MAX_ERRORS (1,000); "uncapped" reads it the old way, every error kept, for comparison.
Each measurement runs in a fresh child process and reports wall time, the peak RSS of the read (VmHWM reset
just before it; ru_maxrss where that reset is not allowed) and that peak above the child's RSS before the read
(the app imported, the file's bytes loaded). The floors count the same rows with no checks: calamine (what the
importer reads workbooks with) loading the sheet and iterating it, and openpyxl's read_only iteration (what it read
them with before, kept for comparison). The web request's own share (hashing, the
format sniff and the zip directory check, after which it stores the file) is timed too.

    .venv/bin/python bench/import_hostile.py [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "platform"))

EXCEL_MAX_ROWS = 1_048_576
BAD_ROWS = 200_000

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>
</styleSheet>"""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_xlsx(path: Path, strings: list[str], rows, dimension: str) -> None:
    """A workbook whose sheet is `rows`: each row a list of ("s", shared string index) or ("n", number text).

    The sheet declares its size (<dimension>) as Excel does; without it openpyxl reads the whole sheet once
    more just to find it, which would make the floor look slower than it is.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        shared = "".join(f"<si><t>{_escape(s)}</t></si>" for s in strings)
        archive.writestr("xl/sharedStrings.xml",
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxml'
                         f'formats.org/spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">'
                         f"{shared}</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
                        b'openxmlformats.org/spreadsheetml/2006/main">')
            sheet.write(f'<dimension ref="{dimension}"/><sheetData>'.encode())
            chunk: list[str] = []
            for number, cells in enumerate(rows, start=1):
                parts = [f'<row r="{number}">']
                for kind, value in cells:
                    parts.append(f'<c t="s"><v>{value}</v></c>' if kind == "s" else f"<c><v>{value}</v></c>")
                parts.append("</row>")
                chunk.append("".join(parts))
                if len(chunk) >= 10_000:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write("".join(chunk).encode())
            sheet.write(b"</sheetData></worksheet>")


def make_max_rows(path: Path) -> None:
    """1,048,576 rows: a header and good forecast rows (2,000 parts x 26 weeks, repeating)."""
    parts = [f"BRK-{n:05d}" for n in range(2000)]
    weeks = [f"2027-W{w:02d}" for w in range(1, 27)]
    strings = ["Part number", "Week", "Quantity", *parts, *weeks]
    base_week = 3 + len(parts)

    def rows():
        yield [("s", 0), ("s", 1), ("s", 2)]
        for n in range(EXCEL_MAX_ROWS - 1):
            yield [("s", 3 + n % 2000), ("s", base_week + (n // 2000) % 26), ("n", str(100 + n % 50))]

    write_xlsx(path, strings, rows(), f"A1:C{EXCEL_MAX_ROWS}")


def make_all_bad(path: Path) -> None:
    """200,000 commit rows, every one of the 5 cells wrong: 1,000,000 errors."""
    strings = ["Part number", "Week", "Quantity", "Reason code", "Comment",
               "BAD PART", "not a week", "\u00b2", "no such reason", "zero\u200bwidth"]

    def rows():
        yield [("s", 0), ("s", 1), ("s", 2), ("s", 3), ("s", 4)]
        for _n in range(BAD_ROWS):
            yield [("s", 5), ("s", 6), ("s", 7), ("s", 8), ("s", 9)]

    write_xlsx(path, strings, rows(), f"A1:E{BAD_ROWS + 1}")


def make_big_csv(path: Path) -> None:
    """200,000 good forecast rows in 9.4 MB of CSV (the issue saw a 9.6 MB CSV add 229 MB to a web process)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("Part number,Week,Quantity\r\n")
        for n in range(BAD_ROWS):
            fh.write(f"BRK-{n % 2000:05d}-FLANGE-ASSEMBLY-REV-R{n % 7},2027-W{1 + (n // 2000) % 26:02d},{100 + n % 50}\r\n")


# ---------------------------------------------------------------- what runs in the child process

def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Start the peak-RSS mark (VmHWM) afresh, so that a transient peak of the app's start is not counted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(mode: str, path: str, kind_name: str, cap: int) -> dict:
    os.environ.setdefault("COGROW_VAR_DIR", tempfile.mkdtemp(prefix="cogrow-bench-"))
    import logging

    logging.disable(logging.WARNING)
    from cogrow import create_app
    from cogrow.config import TestingConfig

    app = create_app(TestingConfig("sqlite://"))
    data = Path(path).read_bytes()
    import openpyxl  # noqa: F401 - imported before the baseline, as the worker has it loaded

    result: dict = {}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from cogrow.imports import reader, services
        from cogrow.imports.registry import get_kind

        kind = get_kind(kind_name)
        baseline = _status_kb("VmRSS")
        fresh_peak = _reset_peak()
        start = time.perf_counter()
        if mode == "web":
            import hashlib

            hashlib.sha256(data).hexdigest()
            fmt, weight = reader.precheck(Path(path).name, data, max_unzipped=app.config["IMPORT_MAX_UNZIPPED_BYTES"])
            result["outcome"] = f"stored for the worker ({fmt}, {weight / 1e6:.0f} MB to read)"
        elif mode == "ours":
            try:
                table = reader.read(Path(path).name, data, max_rows=app.config["IMPORT_MAX_ROWS"],
                                    max_unzipped=app.config["IMPORT_MAX_UNZIPPED_BYTES"],
                                    sheet_names=(kind.name, str(kind.label())))
                parsed = services.parse_rows(kind, table, cap)
                stored = services._error_dicts(parsed.errors) if parsed.errors else []
                stop = f", stopped at row {parsed.stopped_at}" if parsed.stopped_at else ""
                result["outcome"] = (f"{parsed.total:,} rows read, {len(parsed.errors):,} errors found, "
                                     f"{len(stored):,} kept{stop}")
            except reader.FileRejected as exc:
                result["outcome"] = f"refused: {exc.message}"
        elif mode == "floor-calamine":  # floor: calamine loads the sheet, its rows are iterated and counted
            from python_calamine import CalamineWorkbook

            with CalamineWorkbook.from_path(path) as workbook:
                sheet = workbook.get_sheet_by_index(0)
            count = 0
            for _row in sheet.iter_rows():
                count += 1
                if cap and count >= cap:
                    break
            result["outcome"] = f"{count:,} rows iterated"
        elif path.endswith(".csv"):  # floor: csv.reader over the decoded text, counting rows
            import csv
            import io

            count = sum(1 for _row in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")))
            result["outcome"] = f"{count:,} rows iterated"
        else:  # floor: openpyxl read_only, counting rows (up to `cap` rows when given)
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True, data_only=True)
            count = 0
            for _row in workbook.active.iter_rows(values_only=True):
                count += 1
                if cap and count >= cap:
                    break
            workbook.close()
            result["outcome"] = f"{count:,} rows iterated"
        result["wall_s"] = time.perf_counter() - start
    # VmHWM after the reset is this read's own peak; without the reset, ru_maxrss (the process's lifetime peak).
    peak = _status_kb("VmHWM") if fresh_peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_mb"] = peak / 1024
    result["added_mb"] = max(peak - baseline, 0) / 1024
    return result


def run_child(mode: str, path: Path, kind: str, cap: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path), kind, str(cap)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=4, metavar=("MODE", "PATH", "KIND", "CAP"))
    parser.add_argument("--keep", help="write the generated files here and keep them")
    args = parser.parse_args()
    if args.child:
        mode, path, kind, cap = args.child
        print(json.dumps(child(mode, path, kind, int(cap))))
        return

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="cogrow-hostile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    max_rows, all_bad, big_csv = workdir / "max-rows.xlsx", workdir / "all-bad.xlsx", workdir / "big.csv"
    for path, make in ((max_rows, make_max_rows), (all_bad, make_all_bad), (big_csv, make_big_csv)):
        start = time.perf_counter()
        make(path)
        unpacked = path.stat().st_size
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(m.file_size for m in archive.infolist())
        print(f"generated {path.name}: {path.stat().st_size / 1e6:.1f} MB ({unpacked / 1e6:.0f} MB unpacked) "
              f"in {time.perf_counter() - start:.1f} s")

    from cogrow.imports.services import DEFAULT_MAX_ERRORS, DEFAULT_MAX_ROWS

    cases = [
        ("1,048,576 rows: web request", "web", max_rows, "forecast", 0),
        ("1,048,576 rows: worker read to refusal", "ours", max_rows, "forecast", DEFAULT_MAX_ERRORS),
        ("  floor: calamine, 200,001 rows", "floor-calamine", max_rows, "forecast", DEFAULT_MAX_ROWS + 1),
        ("  floor: openpyxl, 200,001 rows", "floor", max_rows, "forecast", DEFAULT_MAX_ROWS + 1),
        ("  floor: openpyxl, all rows", "floor", max_rows, "forecast", 0),
        ("all-bad 200k: web request", "web", all_bad, "commits", 0),
        ("all-bad 200k: worker read, capped", "ours", all_bad, "commits", DEFAULT_MAX_ERRORS),
        ("all-bad 200k: worker read, uncapped (old)", "ours", all_bad, "commits", 10**9),
        ("  floor: calamine, all rows ", "floor-calamine", all_bad, "commits", 0),
        ("  floor: openpyxl, all rows ", "floor", all_bad, "commits", 0),
        ("9.4 MB CSV, 200k good rows: web request", "web", big_csv, "forecast", 0),
        ("9.4 MB CSV, 200k good rows: worker read", "ours", big_csv, "forecast", DEFAULT_MAX_ERRORS),
        ("  floor: csv.reader, all rows", "floor", big_csv, "forecast", 0),
    ]
    results: dict[str, dict] = {}
    print(f"\n{'case':44} {'wall s':>8} {'peak MB':>8} {'+MB':>7}  outcome")
    for label, mode, path, kind, cap in cases:
        r = run_child(mode, path, kind, cap)
        results[label] = r
        print(f"{label:44} {r['wall_s']:8.2f} {r['peak_mb']:8.0f} {r['added_mb']:7.0f}  {r['outcome']}")

    def ratio(ours: str, floor: str) -> str:
        a, b = results[ours], results[floor]
        return f"{a['wall_s'] / b['wall_s']:.2f}x time, {a['added_mb'] / max(b['added_mb'], 1):.2f}x added RSS"

    print("\nratios to the floor:")
    print("  1,048,576 rows, refusal vs calamine reading the same 200,001 rows:",
          ratio("1,048,576 rows: worker read to refusal", "  floor: calamine, 200,001 rows"))
    print("  all-bad uncapped vs calamine reading all rows:",
          ratio("all-bad 200k: worker read, uncapped (old)", "  floor: calamine, all rows "))
    print("  1,048,576 rows, refusal vs openpyxl reading the same 200,001 rows:",
          ratio("1,048,576 rows: worker read to refusal", "  floor: openpyxl, 200,001 rows"))
    print("  all-bad capped vs openpyxl reading all rows:",
          ratio("all-bad 200k: worker read, capped", "  floor: openpyxl, all rows "))
    print("  all-bad uncapped vs openpyxl reading all rows:",
          ratio("all-bad 200k: worker read, uncapped (old)", "  floor: openpyxl, all rows "))
    print("  9.4 MB CSV, read and checked vs csv.reader counting rows:",
          ratio("9.4 MB CSV, 200k good rows: worker read", "  floor: csv.reader, all rows"))
    if not args.keep:
        for path in (max_rows, all_bad, big_csv):
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
