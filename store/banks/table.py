"""CSV and XLSX: one question per row, the first row names the columns."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

from store.banks.limits import LIMITS, Limits, TooBig
from store.banks.model import LETTERS, BadQuestion, Bank, BankError, build_question

COLUMNS = ("id", "type", "question", *LETTERS, "answer", "explanation", "category", "difficulty")


def _rows(rows: list[tuple[int, dict[str, str]]], name: str, file: str) -> Bank:
    bank = Bank(name)
    for line, row in rows:
        if not any(v.strip() for v in row.values()):
            continue
        try:
            bank.questions.append(
                build_question(
                    row.get("question", ""),
                    [row.get(letter, "") for letter in LETTERS],
                    row.get("answer", ""),
                    line,
                    kind=row.get("type", ""),
                    key=row.get("id", "").strip(),
                    explanation=row.get("explanation", ""),
                    category=row.get("category", ""),
                    difficulty=row.get("difficulty", "") or 1,
                )
            )
        except BadQuestion as error:
            bank.errors.append(BankError(file, line, str(error)))
    return bank


def _header(cells: list[str], file: str) -> tuple[list[str], BankError | None]:
    names = [c.strip().lower() for c in cells]
    names = [n.upper() if n.upper() in LETTERS and len(n) == 1 else n for n in names]
    unknown = [n for n in names if n and n not in COLUMNS]
    if "question" not in names or "answer" not in names:
        return names, BankError(file, 1, "the first row must name the columns question and answer")
    if unknown:
        return names, BankError(file, 1, f"unknown columns: {', '.join(unknown)}")
    return names, None


def _check_row(cells: list[str], line: int, seen: int, limits: Limits) -> int:
    """Refuse a row past the row, column, cell or field limits; returns the cells seen."""
    if line > limits.rows:
        raise TooBig(line, f"more than {limits.rows:,} rows")
    filled = [c for c in cells if c]
    if len(cells) > limits.columns and any(cells[limits.columns :]):
        raise TooBig(line, f"more than {limits.columns} columns")
    if any(len(c) > limits.field_chars for c in filled):
        raise TooBig(line, f"a cell is longer than {limits.field_chars:,} characters")
    seen += len(filled)
    if seen > limits.cells:
        raise TooBig(line, f"more than {limits.cells:,} filled cells")
    return seen


def _table(
    lines: Iterator[tuple[int, list[str]]], name: str, file: str, limits: Limits, empty: str
) -> Bank:
    first = next(lines, None)
    if first is None:
        return Bank(name, errors=[BankError(file, 1, empty)])
    seen = _check_row(first[1], first[0], 0, limits)
    names, error = _header(first[1], file)
    if error:
        return Bank(name, errors=[error])
    rows = []
    for line, cells in lines:
        seen = _check_row(cells, line, seen, limits)
        rows.append((line, {n: v for n, v in zip(names, cells, strict=False) if n}))
    return _rows(rows, name, file)


def parse_csv(text: str, name: str, file: str, limits: Limits = LIMITS) -> Bank:
    """A header row (``question, A…F, answer, explanation, category, difficulty``; ``id`` and
    ``type`` optional), one question per row."""
    reader = csv.reader(io.StringIO(text))

    def lines() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # csv refuses a field over its own limit (128 KiB) and malformed quoting.
                line = reader.line_num
                if "field larger" in str(error):
                    raise TooBig(
                        line, f"a cell is longer than {limits.field_chars:,} characters"
                    ) from None
                raise TooBig(line, f"not valid CSV: {error}") from None
            yield reader.line_num, cells

    return _table(lines(), name, file, limits, "the file is empty")


def _check_zip(data: bytes, limits: Limits) -> str | None:
    """What the zip directory declares, checked before any member is decompressed. Python's
    zipfile stops reading a member at its declared size, so these bound the real work."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as damaged:
        return f"not a readable .xlsx file ({damaged})"
    if len(members) > limits.zip_members:
        return f"the workbook has more than {limits.zip_members} parts"
    if sum(m.file_size for m in members) > limits.unpacked_bytes:
        return f"the workbook unpacks to more than {limits.unpacked_bytes:,} bytes"
    for member in members:
        if member.file_size > max(member.compress_size, 1) * limits.unpacked_ratio:
            return f"the workbook is compressed suspiciously well ({member.filename})"
    return None


def parse_xlsx(data: bytes, name: str, file: str, limits: Limits = LIMITS) -> Bank:
    """The first sheet of a workbook, laid out like the CSV format. The sheet's declared
    ``dimension`` is ignored (a 5 KB file may claim A1:XFD1048576): rows are read as they
    come and reading stops at the limits."""
    from openpyxl import load_workbook  # imported here: only bank imports need it

    problem = _check_zip(data, limits)
    if problem:
        return Bank(name, errors=[BankError(file, 1, problem)])
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as damaged:  # openpyxl raises many kinds for a damaged file
        return Bank(name, errors=[BankError(file, 1, f"not a readable .xlsx file ({damaged})")])
    try:
        if not book.worksheets:
            return Bank(name, errors=[BankError(file, 1, "the workbook has no sheet")])
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        values = sheet.iter_rows(
            max_row=limits.rows + 1, max_col=limits.columns + 1, values_only=True
        )

        def lines() -> Iterator[tuple[int, list[str]]]:
            for index, row in enumerate(values, start=1):
                yield index, ["" if v is None else str(v) for v in row]

        return _table(lines(), name, file, limits, "the sheet is empty")
    except TooBig:
        raise
    except Exception as damaged:  # a damaged sheet fails while it is read, not when opened
        return Bank(name, errors=[BankError(file, 1, f"not a readable .xlsx file ({damaged})")])
    finally:
        book.close()
