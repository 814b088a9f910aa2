"""The unit's form page as the unit and the office (nhập hộ) both see it: its fields, last
period's figures beside them, the live check's data, the error summary. Rendering only: the
routes that show and store it are in unit_form (the unit's link) and console_unit (the office)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from scheduler.clock import to_local
from scheduler.collect.asked import asked, data_range
from scheduler.collect.bundle import Part, prefix
from scheduler.collect.validate import Entry, headings_for, indicators_for
from scheduler.config.model import Config, Indicator, Unit
from scheduler.policy.periods import Period
from scheduler.report.consolidate import previous_period
from scheduler.report.wording import amount, percent
from scheduler.store import reviews
from scheduler.store.tables import Submission
from scheduler.text import long_date, number, remaining, report_subject, requirement, short_datetime
from scheduler.web.context import Pages, WebContext


def heading(period: Period) -> str:
    """'Báo cáo Quý IV/2026'; an on-request title usually says "Báo cáo …" itself, and one that
    does not reads "Báo cáo số liệu …", not "Báo cáo Số liệu …"."""
    if period.title.lower().startswith("báo cáo"):
        return period.title
    # A period of the plan is named as documents name it ("Quý IV/2026"); a one-off one (no kind)
    # by its subject, in the sentence's case.
    return f"Báo cáo {period.title if period.kind else report_subject(period.title)}"


def entry_from_form(form, indicators, headings, prefix: str = "") -> Entry:
    """What was typed in one part of the form (its fields' names start with `prefix`)."""
    entry = Entry(submitted_by=str(form.get("submitted_by", "")))
    for ind in indicators:  # only what applies to the unit: any other field posted is ignored
        name = prefix + ind.id
        den = str(form.get(f"{name}__den", "")) if ind.has_denominator else ""
        entry.figures[ind.id] = (str(form.get(f"{name}__num", "")), den, form.get(f"{name}__kps") == "1")
    for h in headings:
        entry.narrative[h.id] = str(form.get(f"h__{prefix}{h.id}", ""))
    return entry


def labels_of(config, own: str, source: str) -> str:
    """"Mức độ hài lòng …" for a field the unit typed in an earlier part of its form."""
    if own.startswith("h."):
        heading = next((h for h in config.plan.headings if h.id == source[2:]), None)
        return heading.title if heading else source
    ind = next((i for i in config.plan.indicators if i.id == source), None)
    return ind.name if ind else source


def field_ids(indicators, headings, prefix: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """For the error summary: each error key's anchor and human label."""
    anchors, labels = {"submitted_by": "submitted_by"}, {"submitted_by": "Người gửi báo cáo"}
    for ind in indicators:
        key, name = prefix + ind.id, prefix + ind.id
        anchors |= {key: f"ct-{name}", f"{key}.num": f"{name}__num", f"{key}.den": f"{name}__den"}
        labels |= {key: ind.name, f"{key}.num": f"{ind.name} — {ind.numerator}",
                   f"{key}.den": f"{ind.name} — {ind.denominator or ind.numerator}"}
    for h in headings:
        anchors[f"{prefix}h.{h.id}"], labels[f"{prefix}h.{h.id}"] = f"h__{prefix}{h.id}", h.title
    return anchors, labels


# The form's live percentage and target check (no inline script: the CSP is default-src 'self').
SCRIPT = Path(__file__).with_name("static") / "bieu-mau.js"


def figure_line(ind: Indicator, figure: dict | None, target=None) -> str:
    """A stored figure with what it makes, as the form shows last period's: "45/50 — 90,0%",
    "1.234 tin, bài", "3.600/120 — 30 phút/lượt", "Không phát sinh"."""
    if figure is None:
        return "Không phát sinh"
    value = ind.value(figure)
    if ind.kind == "count":
        return f"{number(figure['num'])} {ind.unit or ''}".strip()
    pair = number(figure["num"]) + (f"/{number(figure['den'])}" if figure.get("den") is not None else "")
    if value is None:
        return pair
    if ind.kind == "ratio":
        shown = percent(value, target)
        # One decimal always, as the live check writes it while figures are typed.
        return f"{pair} — {shown if ',' in shown else shown[:-1] + ',0%'}"
    return f"{pair} — {amount(value)} {ind.unit or ''}".strip()


def previous_figures(ctx: WebContext, config: Config, period: Period, unit: Unit) -> tuple[str, dict]:
    """(title, figures) of the unit's latest revision for the same obligation's period before,
    to show beside each field; ("", {}) when there is none (a one-off request, a first period)."""
    before = previous_period(config, period)
    if before is None:
        return "", {}
    with Session(ctx.engine) as session:
        # The newest revision that counted (approved, where the plan asks it), as the report used
        # it: the unit's own rows only, not every unit's revisions of that period.
        sub = session.exec(select(Submission).where(Submission.period_key == before.key, Submission.unit_code == unit.code,
                                                    reviews.counts()).order_by(col(Submission.revision).desc())).first()
    return (before.title, dict(sub.figures or {})) if sub is not None else ("", {})


def live_data(ind: Indicator, period: Period, pre: str) -> dict[str, str]:
    """What bieu-mau.js needs to compute an indicator's value and check it against its target."""
    target = ind.target_for(period)
    data = {"kind": ind.kind, "unit": ind.unit or ""}
    if ind.parent is not None:  # over its parent's denominator
        data["over"] = f"{pre}{ind.parent}__den"
    if target is not None:
        data |= {"op": target.op, "goal": repr(target.value), "goal-text": str(target)
                 + (f" {ind.unit}" if ind.unit and not target.percent_sign else "")}
    return data


# The office's "nhập hộ": how a report on paper reached it, asked above the unit's own fields.
CHANNELS = ("Bản giấy", "Công văn", "Thư điện tử", "Khác")
OFFICE_FIELDS = {"received_at": "Thời điểm Văn phòng nhận", "channel": "Hình thức nhận",
                 "note": "Số, ngày văn bản"}


def script_url() -> str:
    """The script's address, with its content's hash: cached for a year, yet a new version is fetched at once."""
    return f"/tep/bieu-mau.js?v={hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]}"


def render_form(ctx: WebContext, pages: Pages, request: Request, *, action: str, csrf_value: str, period: Period,
                unit: Unit, entries: list[Entry], errors: dict[str, str], last: Submission | None,
                status: int = 200, sections: list[Part] | None = None,
                office: dict | None = None, banner: str | None = None, problem: str | None = None) -> HTMLResponse:
    """The unit's form, for the unit (posting to `action`) or, with `office` ({"received_at",
    "channel", "note"} as typed), for the office entering it on the unit's behalf. `entries`: what
    each part shows typed, one per part of `sections`. The caller sets the CSRF cookie."""
    config = ctx.config()
    if sections is None:
        sections = [Part(period, "", indicators_for(config, period, unit), headings_for(config, period, unit))]
    count = len(sections)
    anchors, labels = {}, {}
    if office is not None:
        anchors |= {key: key for key in OFFICE_FIELDS}
        labels |= OFFICE_FIELDS
    for n, part in enumerate(sections):
        more_anchors, more_labels = field_ids(part.indicators, part.headings, prefix(n, count))
        anchors |= more_anchors
        # "Phần 3 — Hồ sơ TTHC trả trước hạn": two parts may ask the same indicator.
        labels |= {k: (f"Phần {n + 1} — {v}" if count > 1 and k != "submitted_by" else v)
                   for k, v in more_labels.items()}
    now = ctx.clock()

    def view(a, entry: Entry, pre: str, part_period: Period, before: tuple[str, dict]) -> dict:
        typed = entry.figures.get(a.id, ("", "", False))
        fields = [{"name": f"{pre}{a.id}__{key[1:]}", "label": label, "value": typed[0 if key == ".num" else 1],
                   "error": errors.get(pre + a.id + key)} for key, label in a.fields]
        title, figures = before
        last_time = (f"Kỳ trước ({title}): {figure_line(a.ind, figures[a.id], a.ind.target_for(part_period))}"
                     if a.id in figures else "")
        return {"id": pre + a.id, "number": a.number, "name": a.ind.name, "child": a.ind.parent is not None,
                "note": a.note, "target": a.target_line, "fields": fields, "kps": typed[2],
                "error": errors.get(pre + a.id), "before": last_time, "live": live_data(a.ind, part_period, pre),
                "invalid": any(f["error"] for f in fields) or bool(errors.get(pre + a.id))}

    befores = [previous_figures(ctx, config, part.period, unit) for part in sections]
    if count > 1:  # a form of several reports is named by its deadline, not by the one whose link it was
        title = f"Các báo cáo hạn trước ngày {period.due:%d/%m/%Y}"
    else:
        title = heading(period)
    return pages.render(
        request, "form.html", status, period=period, unit=unit, action=action, heading=title,
        office=office or {}, on_behalf=office is not None, channels=CHANNELS, script=script_url(),
        csrf=csrf_value, data_range=data_range(period),
        due_long=long_date(period.due), remaining=remaining(period.due, to_local(now).date()),
        last=last, last_received=short_datetime(to_local(last.received_at)) if last else "",
        banner=banner, problem=problem,
        errors=errors, anchors=anchors, labels=labels, submitted_by=entries[0].submitted_by,
        by_error=errors.get("submitted_by"), template_url=None if office is not None else f"{action}/mau.xlsx",
        parts=[{"title": part.title if count > 1 else "", "data_range": data_range(part.period),
                "indicators": [view(a, entries[n], prefix(n, count), part.period, befores[n])
                               for a in asked(config, part.period, unit) if a.id in {i.id for i in part.indicators}],
                "headings": [{"id": prefix(n, count) + h.id, "title": h.title, "requirement": requirement(h.required),
                              "text": entries[n].narrative.get(h.id, ""),
                              "error": errors.get(f"{prefix(n, count)}h.{h.id}")} for h in part.headings],
                "shared": [labels_of(config, own, source) for own, (_, source) in part.shared.items()]}
               for n, part in enumerate(sections)],
    )
