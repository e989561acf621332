"""CSV and XLSX: one question per row, the first row names the columns."""

from __future__ import annotations

import csv
import io

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


def parse_csv(text: str, name: str, file: str) -> Bank:
    """A header row (``question, A…F, answer, explanation, category, difficulty``; ``id`` and
    ``type`` optional), one question per row."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return Bank(name, errors=[BankError(file, 1, "the file is empty")])
    names, error = _header(header, file)
    if error:
        return Bank(name, errors=[error])
    rows = [
        (reader.line_num, {n: v for n, v in zip(names, cells, strict=False) if n})
        for cells in reader
    ]
    return _rows(rows, name, file)


def parse_xlsx(data: bytes, name: str, file: str) -> Bank:
    """The first sheet of a workbook, laid out like the CSV format."""
    from openpyxl import load_workbook  # imported here: only bank imports need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as damaged:  # openpyxl raises many kinds for a damaged file
        return Bank(name, errors=[BankError(file, 1, f"not a readable .xlsx file ({damaged})")])
    sheet = book.worksheets[0]
    lines = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    book.close()
    if not lines:
        return Bank(name, errors=[BankError(file, 1, "the sheet is empty")])
    names, error = _header(lines[0], file)
    if error:
        return Bank(name, errors=[error])
    rows = [
        (index, {n: v for n, v in zip(names, cells, strict=False) if n})
        for index, cells in enumerate(lines[1:], start=2)
    ]
    return _rows(rows, name, file)
