"""Reading a roll file: encoding, separator, header and chunks of rows.

French administrations export rolls from Excel: Windows-1252 files and semicolon-separated
files are common. Both are found before any row is read, with a French message naming the
line, so that a run never stops half-way on a byte it cannot decode.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reassort.roll.schema import COLUMNS, Problem

# Encodings the import accepts when asked (`--encoding`); UTF-8 (with or without BOM) by default.
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso-8859-15": "iso-8859-15",
}
DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "virgule", ";": "point-virgule", "\t": "tabulation"}

Chunk = list[tuple[int, dict[str | None, Any]]]


class RollFileError(Exception):
    """The file cannot be read as a roll. ``code`` is stable; the message is French."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.line = line


@dataclass(frozen=True)
class RollFile:
    path: Path
    encoding: str  # a Python codec name
    delimiter: str
    header: list[str]

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES[self.delimiter]

    def open(self) -> TextIO:
        return self.path.open(newline="", encoding=self.encoding)

    def reader(self, handle: TextIO) -> csv.DictReader[str]:
        return csv.DictReader(handle, delimiter=self.delimiter)


def codec(name: str) -> str:
    """The codec of an ``--encoding`` value; ValueError when it is not one the import accepts."""
    try:
        return ENCODINGS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"encodage non pris en charge : choisissez parmi {', '.join(ENCODINGS)}") from None


def open_roll(path: Path, encoding: str = "utf-8") -> RollFile:
    """Check the whole file decodes and find its separator; raise RollFileError otherwise."""
    python_codec = codec(encoding)
    check_encoding(path, python_codec)
    with path.open(newline="", encoding=python_codec) as handle:
        first = handle.readline()
    if not first.strip():
        raise RollFileError("empty_file", "le fichier est vide : une ligne d'en-tête est attendue", 1)
    delimiter = detect_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter))
    return RollFile(path, python_codec, delimiter, [name.strip() for name in header])


def check_encoding(path: Path, python_codec: str) -> None:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(python_codec)
            except UnicodeDecodeError as exc:
                raise RollFileError(
                    "not_utf8" if python_codec.startswith("utf-8") else "bad_encoding",
                    _encoding_message(python_codec, number, raw[exc.start]),
                    number,
                ) from None


def _encoding_message(python_codec: str, line: int, byte: int) -> str:
    if python_codec.startswith("utf-8"):
        return (
            f"le fichier n'est pas en UTF-8 : octet 0x{byte:02X} ligne {line}. Excel enregistre "
            "souvent en Windows-1252 : enregistrez le fichier au format « CSV UTF-8 » ou relancez "
            "avec --encoding cp1252."
        )
    return f"le fichier ne se lit pas en {python_codec} : octet 0x{byte:02X} ligne {line}."


def detect_delimiter(header_line: str) -> str:
    """The separator that splits the header into the most roll columns (Excel in French: ';')."""

    def known(delimiter: str) -> int:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        return sum(1 for cell in cells if cell.strip() in COLUMNS)

    best = max(DELIMITERS, key=known)
    return best if known(best) else ","


def read_chunks(
    roll: RollFile, handle: TextIO, chunk_size: int
) -> Iterator[tuple[int, Chunk, int, list[Problem]]]:
    """(chunk index, rows, rows read, duplicates) for the data rows. A repeated elector id is
    reported with the line of its first occurrence and left out (the first occurrence wins).
    Row numbers count the header as row 1."""
    reader = roll.reader(handle)
    first_seen: dict[str, int] = {}
    chunk: Chunk = []
    duplicates: list[Problem] = []
    index = read = 0
    for number, row in enumerate(reader, start=2):
        read += 1
        elector_id = (row.get("elector_id") or "").strip()
        if elector_id and elector_id in first_seen:
            duplicates.append(Problem(number, "elector_id", "duplicate_elector_id", first_seen[elector_id]))
        else:
            first_seen.setdefault(elector_id, number)
            chunk.append((number, dict(row)))
        if read >= chunk_size:
            yield index, chunk, read, duplicates
            index += 1
            chunk, read, duplicates = [], 0, []
    if read:
        yield index, chunk, read, duplicates
