"""Read tabular side data (CSV/TSV, XLSX, JSON Lines) into rows of strings.

Header names are case-insensitive and trimmed; Chinese aliases map to canonical
names. Each row keeps its 1-based source line (header = line 1 for CSV; the sheet
row number for XLSX; the physical line for JSONL).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from sidedata.encoding import decode_text
from sidedata.errors import ProblemCollector, UnsupportedFormatError

HEADER_ALIASES: dict[str, str] = {
    "商品id": "sku",
    "商品编码": "sku",
    "商品名称": "name",
    "价格": "price",
    "直播价": "price",
    "原价": "original_price",
    "币种": "currency",
    "优惠券": "coupon",
    "优惠": "coupon",
    "图片": "image",
    "主图": "image",
    "链接": "buy_url",
    "商品链接": "buy_url",
    "开始时间": "start",
    "结束时间": "end",
    "时间": "ts",
    "用户": "user",
    "内容": "text",
    "评论": "text",
    "类型": "kind",
    "数量": "qty",
    "金额": "amount",
    "实付金额": "amount",
    "订单号": "order_id",
    # leaders
    "姓名": "name",
    "团长": "name",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "微信": "wechat",
    "微信号": "wechat",
    "推荐人": "recruiter",
    "状态": "status",
    "社群": "communities",
    "编号": "id",
    "团长id": "id",
    # catalog: coupon expiry
    "优惠券截止": "coupon_expires",
    "券截止时间": "coupon_expires",
    "优惠券截止时间": "coupon_expires",
}

JSONL_EXTENSIONS = frozenset({".jsonl", ".json", ".ndjson"})
XLSX_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def canonical_header(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Map a header cell or JSON key to its canonical column name (``aliases``, a file kind's own, first)."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())
    if aliases and key in aliases:
        return aliases[key]
    return HEADER_ALIASES.get(key, key)


@dataclass(frozen=True)
class Row:
    """One data row: canonical column name -> trimmed string value."""

    line: int
    values: dict[str, str]

    def get(self, name: str) -> str:
        """The value of column ``name``, or ``""`` when absent."""
        return self.values.get(name, "")


@dataclass
class Table:
    """Rows read from one file, with the format used and any warnings."""

    filename: str
    format: str
    columns: list[str]
    rows: list[Row]
    warnings: list[str] = field(default_factory=list)


def number_to_str(value: int | float | Decimal) -> str:
    """Render a spreadsheet/JSON number as text: ``89`` -> "89", ``89.5`` -> "89.5"."""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    return str(value)


def _round_ms(moment: datetime) -> datetime:
    millis = round(moment.microsecond / 1000)
    return moment.replace(microsecond=0) + timedelta(milliseconds=millis)


def _clock(total: timedelta) -> str:
    millis = round(total.total_seconds() * 1000)
    sign = "-" if millis < 0 else ""
    seconds, ms = divmod(abs(millis), 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"{sign}{hours:02d}:{minute:02d}:{sec:02d}"
    return f"{text}.{ms:03d}" if ms else text


def cell_to_str(value: Any) -> str:
    """Render an XLSX cell value as the text a CSV export would contain."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return number_to_str(value)
    if isinstance(value, datetime):
        rounded = _round_ms(value)
        spec = "milliseconds" if rounded.microsecond else "seconds"
        return rounded.isoformat(timespec=spec)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        micros = value.microsecond
        return _clock(timedelta(hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=micros))
    if isinstance(value, timedelta):
        return _clock(value)
    return str(value)


def _is_tab(text: str) -> bool:
    """Sniff the delimiter from the header (first non-blank) line."""
    header = next((ln for ln in re.split(r"\r\n|\r|\n", text) if ln.strip()), "")
    tabs = header.count("\t")
    return tabs > 0 and tabs >= header.count(",")


def _grid_from_csv(text: str, problems: ProblemCollector) -> list[tuple[int, list[str]]]:
    delimiter = "\t" if _is_tab(text) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    grid: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(line, None, f"malformed CSV: {exc}")
            break
        grid.append((line, cells))
    return grid


def _grid_from_xlsx(data: bytes, filename: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # local import keeps CSV-only use light

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for bad files
        raise UnsupportedFormatError(f"{filename}: not a readable XLSX workbook ({exc})") from exc
    try:
        if not workbook.worksheets:
            raise UnsupportedFormatError(f"{filename}: workbook has no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        return [
            (index, [cell_to_str(v) for v in values])
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


def _json_value(value: Any) -> str | None:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return number_to_str(value)
    return None


def _table_from_jsonl(
    text: str,
    filename: str,
    columns: Sequence[str],
    problems: ProblemCollector,
    aliases: Mapping[str, str] | None = None,
) -> Table:
    known = set(columns)
    unknown: dict[str, None] = {}
    rows: list[Row] = []
    for line, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.add(line, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            problems.add(line, None, "expected one JSON object per line")
            continue
        values: dict[str, str] = {}
        for key, value in obj.items():
            name = canonical_header(str(key), aliases)
            if name not in known:
                unknown.setdefault(str(key))
                continue
            if name in values:
                problems.add(line, name, f"key {key!r} repeats column {name!r}")
                continue
            text_value = _json_value(value)
            if text_value is None:
                problems.add(line, name, f"unsupported JSON value {value!r}")
                continue
            values[name] = text_value
        if any(values.values()):
            rows.append(Row(line, values))
    warnings = [f"{filename}: ignored unknown keys: {', '.join(unknown)}"] if unknown else []
    return Table(filename, "jsonl", list(columns), rows, warnings)


def _table_from_grid(
    grid: Iterable[tuple[int, list[str]]],
    filename: str,
    fmt: str,
    columns: Sequence[str],
    required: Sequence[str],
    problems: ProblemCollector,
    aliases: Mapping[str, str] | None = None,
) -> Table:
    rows_iter = iter((ln, cells) for ln, cells in grid if any(c.strip() for c in cells))
    first = next(rows_iter, None)
    if first is None:
        problems.add(None, None, "file is empty (a header row is required)")
        return Table(filename, fmt, [], [])
    header_line, header = first
    known = set(columns)
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        name = canonical_header(cell, aliases)
        if not name:
            continue
        if name not in known:
            unknown.append(cell.strip())
        elif name in mapping.values():
            problems.add(header_line, name, f"duplicate column {cell.strip()!r}")
        else:
            mapping[index] = name
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        found = ", ".join(c.strip() for c in header if c.strip())
        problems.add(header_line, None, f"missing required column(s): {', '.join(missing)} (found: {found})")
        return Table(filename, fmt, list(mapping.values()), [])
    rows: list[Row] = []
    width = max(mapping) + 1 if mapping else 0
    for line, cells in rows_iter:
        extra = [c for c in cells[len(header) :] if c.strip()]
        if extra:
            problems.add(line, None, f"row has {len(cells)} values but the header has {len(header)} columns")
            continue
        padded = cells + [""] * (width - len(cells))
        rows.append(Row(line, {name: padded[i].strip() for i, name in mapping.items()}))
    warnings = [f"{filename}: ignored unknown columns: {', '.join(unknown)}"] if unknown else []
    return Table(filename, fmt, list(mapping.values()), rows, warnings)


def detect_format(data: bytes, filename: str) -> str:
    """Classify a file by magic bytes and extension: "xlsx", "jsonl" or "text".

    "text" means CSV/TSV unless the decoded text starts with ``{`` (JSON Lines).
    """
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise UnsupportedFormatError(f"{filename}: legacy .xls workbooks are not supported; save as .xlsx or CSV")
    if suffix in XLSX_EXTENSIONS:
        raise UnsupportedFormatError(f"{filename}: not a valid XLSX file")
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    return "text"


def read_table(
    data: bytes,
    filename: str,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    problems: ProblemCollector,
    aliases: Mapping[str, str] | None = None,
) -> Table:
    """Read a CSV/TSV, XLSX or JSONL file into a :class:`Table`.

    ``columns`` are the canonical names this kind of file knows (others are ignored
    with a warning); ``required`` must appear in the header (CSV/XLSX). Structural
    problems are added to ``problems``; fully empty rows are skipped. ``aliases`` (normalised header ->
    column) are this kind's own header names, tried before the shared :data:`HEADER_ALIASES`.
    """
    fmt = detect_format(data, filename)
    if fmt == "xlsx":
        return _table_from_grid(_grid_from_xlsx(data, filename), filename, fmt, columns, required, problems, aliases)
    text = decode_text(data, filename)
    if fmt == "jsonl" or text.lstrip().startswith(("{", "[")):
        if text.lstrip().startswith("["):
            raise UnsupportedFormatError(f"{filename}: expected JSON Lines (one object per line), not a JSON array")
        return _table_from_jsonl(text, filename, columns, problems, aliases)
    grid = _grid_from_csv(text, problems)
    fmt = "tsv" if grid and _is_tab(text) else "csv"
    return _table_from_grid(grid, filename, fmt, columns, required, problems, aliases)
