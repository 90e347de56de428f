"""Printing for the CLI: one JSON document with --json, readable tables without."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    return str(value)


def print_json(document: Any) -> None:
    """One JSON document on stdout (models and Decimals as plain JSON)."""
    if isinstance(document, BaseModel):
        document = document.model_dump(mode="json")
    sys.stdout.write(json.dumps(document, default=_default, ensure_ascii=False, indent=2) + "\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], *, title: str | None = None) -> None:
    if title:
        sys.stdout.write(f"{title}\n")
    sys.stdout.write(table(rows, headers) + "\n")


def usd(amount: Decimal | float | None) -> str:
    """Money for people: enough digits to see sub-cent amounts."""
    if amount is None:
        return "-"
    value = Decimal(str(amount))
    return f"${value:.6f}" if abs(value) < 1 else f"${value:,.4f}"


def error(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(f"polyroute: {' '.join(message.split())}\n")
