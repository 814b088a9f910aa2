"""What is wrong with a file a unit returned, each problem where the person fixing it finds it
(sheet and cell, or file and line), all of them at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing to fix. `where` is a sheet and cell, a file and line, or "" for the file as a
    whole (its message then names the file); `order` sorts problems as the reader meets them."""

    where: str
    message: str
    order: tuple[int, int] = (0, 0)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ImportError_(Exception):
    """A file that cannot be read as a report: every problem found in it, in reading order."""

    def __init__(self, problems: list[Problem], note: str = ""):
        self.problems = sorted(problems, key=lambda p: p.order)
        self.note = note
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class Loc:
    """Where a field came from, as the person who fixes the file finds it."""

    text: str
    order: tuple[int, int]


def shown_value(value: Any) -> str:
    """A cell's or key's value as the person sees it, in a message."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}" if value.time() != time(0) else f"{value:%d/%m/%Y}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)
