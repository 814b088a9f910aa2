"""What changed between two revisions of a unit's report, as the office reads it on the unit's
history: each figure that changed with its old and new value, each text that was written, edited
or emptied. Pure."""

from __future__ import annotations

from typing import Any

from scheduler.collect.validate import figure_text
from scheduler.config.model import Config, Unit
from scheduler.policy.periods import Period


def changes(config: Config, period: Period, unit: Unit | None, before: tuple[dict | None, dict | None],
            after: tuple[dict | None, dict | None]) -> list[str]:
    """`before` and `after`: (figures, narrative) of two revisions, older first. Empty when the
    office would see no difference (a resend of the same report under another sender)."""
    old_figures, old_texts = before[0] or {}, before[1] or {}
    new_figures, new_texts = after[0] or {}, after[1] or {}
    found = []
    for ind in config.indicators_for(period, unit):
        old = _shown(old_figures[ind.id]) if ind.id in old_figures else ""
        new = _shown(new_figures[ind.id]) if ind.id in new_figures else ""
        if old != new:
            found.append(f"{ind.name}: {old or '(trống)'} → {new or '(trống)'}")
    for heading in config.headings_for(period, unit):
        old, new = (old_texts.get(heading.id) or "").strip(), (new_texts.get(heading.id) or "").strip()
        if old == new:
            continue
        if not old:
            found.append(f"{heading.title}: viết mới")
        elif not new:
            found.append(f"{heading.title}: xoá nội dung")
        else:
            found.append(f"{heading.title}: sửa nội dung ({_size(old)} → {_size(new)})")
    return found


def _shown(value: Any) -> str:
    """None stored is "Không phát sinh"; an empty value is nothing."""
    return figure_text(value)


def _size(text: str) -> str:
    return f"{len(text.split())} từ"
