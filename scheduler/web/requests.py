"""The office opens an on-request report ("khi có yêu cầu") from the browser: its title and
deadline, the units (or unit groups) asked, and which of an obligation's indicators and headings
it asks — a subset, not the whole quarterly form. No JavaScript: every field is a plain input or
checkbox, and the obligation whose lists are shown is chosen first, by a plain GET form. What to open is decided by the pure functions below (the CLI's `baocao request` uses the
same rules); the route only reads the form, stores the period with its audit row, and redirects."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Mapping

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from scheduler.clock import to_local
from scheduler.collect import record
from scheduler.store import db
from scheduler.config.model import Config, Heading, Indicator, Obligation
from scheduler.store.tables import PeriodRow
from scheduler.web.context import Pages, WebContext
from scheduler.text import one_off_words
from scheduler.web.gate import OfficeGate
from scheduler.web.security import Csrf

TITLE_MAX = 250
# A second click on "Mở báo cáo" (or a browser resending a slow POST) within this time, with the
# same answers, is the same request: the office is taken to it instead of getting a twin.
DUPLICATE_WINDOW = timedelta(minutes=10)


# ------------------------------------------------------------------ the rules (pure)

def indicators_of(config: Config, ob: Obligation) -> list[Indicator]:
    """The obligation's indicators in the plan's order."""
    wanted = set(ob.indicators)
    return [i for i in config.plan.indicators if i.id in wanted]


def headings_of(config: Config, ob: Obligation) -> list[Heading]:
    wanted = set(ob.headings)
    return [h for h in config.plan.headings if h.id in wanted]


def orphans(config: Config, ob: Obligation, chosen: set[str]) -> list[tuple[Indicator, Indicator]]:
    """(child, parent) for each "trong đó" child chosen without its parent: the child is worked
    out over its parent's denominator, which a form without the parent never asks."""
    by_id = {i.id: i for i in indicators_of(config, ob)}
    return [(i, by_id[i.parent]) for i in by_id.values()
            if i.id in chosen and i.parent in by_id and i.parent not in chosen]


def orphan_message(child: Indicator, parent: Indicator) -> str:
    return (f"“Trong đó: {child.name}” tính trên mẫu số của chỉ tiêu “{parent.name}”: chọn cả chỉ tiêu đó, "
            "hoặc bỏ chọn chỉ tiêu “trong đó”")


NOTHING_ASKED = "Chọn ít nhất một chỉ tiêu hoặc một đề mục thuyết minh."


def owing_units(config: Config, ob: Obligation):
    """Active units that owe the obligation: the only ones a request like it can reach."""
    return [u for u in config.units if u.active and config.owes(u, ob.id)]


def parse_deadline(text: str) -> date | None:
    """What a date input sends (2026-12-18), or what a person types where it is a plain text box
    (an old browser): 18/12/2026, 18-12-2026."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    return None


def clean_title(text: str) -> str:
    """The title as typed, in NFC, on one line (a pasted line break or tab is a space)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class Draft:
    """A request ready to open."""

    title: str
    deadline: date
    like: str
    units: list[str] | None  # None: every unit that owes `like`
    indicators: list[str]
    headings: list[str]
    data_from: date | None = None
    data_to: date | None = None


def ticked(form: Mapping[str, str], prefix: str) -> set[str]:
    return {k[len(prefix):] for k, v in form.items() if k.startswith(prefix) and v}


def decide(config: Config, ob: Obligation, form: Mapping[str, str], today: date) -> tuple[Draft | None, dict[str, str]]:
    """The request the office's form describes, or what to correct, by field."""
    errors: dict[str, str] = {}
    title = clean_title(form.get("ten", ""))
    if not title:
        errors["ten"] = "Chưa nhập tên báo cáo."
    elif len(title) > TITLE_MAX:
        errors["ten"] = f"Tên báo cáo dài {len(title)} ký tự, quá {TITLE_MAX} ký tự; vui lòng rút gọn."
    raw = form.get("han", "").strip()
    deadline = parse_deadline(raw) if raw else None
    if not raw:
        errors["han"] = "Chưa chọn hạn nộp."
    elif deadline is None:
        errors["han"] = f"“{raw}” không phải ngày hợp lệ; ghi ngày/tháng/năm, ví dụ 18/12/2026."
    elif deadline <= today:
        errors["han"] = f"Hạn nộp phải sau hôm nay ({today:%d/%m/%Y})."
    # The days the figures cover, optional but both or neither: "số hồ sơ" over which days?
    span = {}
    for field in ("tu_ngay", "den_ngay"):
        text = form.get(field, "").strip()
        span[field] = parse_deadline(text) if text else None
        if text and span[field] is None:
            errors[field] = f"“{text}” không phải ngày hợp lệ; ghi ngày/tháng/năm, ví dụ 30/11/2026."
    if not errors.get("tu_ngay") and not errors.get("den_ngay"):
        if (span["tu_ngay"] is None) != (span["den_ngay"] is None):
            errors["den_ngay" if span["den_ngay"] is None else "tu_ngay"] = "Ghi cả ngày bắt đầu và ngày kết thúc, hoặc để trống cả hai."
        elif span["tu_ngay"] is not None and span["tu_ngay"] > span["den_ngay"]:
            errors["den_ngay"] = "Ngày kết thúc phải sau ngày bắt đầu."
    owing = owing_units(config, ob)
    groups, codes = ticked(form, "nhom__"), ticked(form, "dv__")
    # A group stands for its units as they are now; a unit added to it later is not asked.
    units = [u.code for u in owing if u.code in codes or (u.group is not None and u.group in groups)]
    # Posted ids the obligation lacks (a config reloaded meanwhile, a crafted post) are dropped.
    indicators = [i.id for i in indicators_of(config, ob) if i.id in ticked(form, "ct__")]
    headings = [h.id for h in headings_of(config, ob) if h.id in ticked(form, "dm__")]
    if not indicators and not headings:
        errors["noi_dung"] = NOTHING_ASKED
    lost = orphans(config, ob, set(indicators))
    if lost:
        errors["chi_tieu"] = "; ".join(orphan_message(c, p) for c, p in lost) + "."
    if errors:
        return None, errors
    assert deadline is not None
    return Draft(title, deadline, ob.id, units or None, indicators, headings, span["tu_ngay"], span["den_ngay"]), {}


def choices(config: Config, ob: Obligation, form: Mapping[str, str]) -> dict:
    """What the form offers for `ob`, each box ticked as posted: units by group, indicators by
    indicator group with each "trong đó" child under its parent, headings by heading group."""
    groups, codes = ticked(form, "nhom__"), ticked(form, "dv__")
    inds, heads = ticked(form, "ct__"), ticked(form, "dm__")
    owing = owing_units(config, ob)
    unit_blocks = []
    for group_id, name in [(g.id, g.name) for g in config.groups] + [(None, "Đơn vị khác" if config.groups else "")]:
        members = [u for u in owing if u.group == group_id]
        if members:
            unit_blocks.append({"id": group_id, "name": name, "checked": group_id in groups,
                                "units": [{"code": u.code, "name": u.name, "checked": u.code in codes} for u in members]})
    asked = indicators_of(config, ob)
    ids = {i.id for i in asked}
    titles = {g.id: g.title for g in config.plan.indicator_groups}
    indicator_blocks: list[dict] = []
    for ind in asked:
        if ind.parent in ids:
            continue  # listed under its parent
        title = titles.get(ind.group) if ind.group else None
        if not indicator_blocks or indicator_blocks[-1]["title"] != title:
            indicator_blocks.append({"title": title, "items": []})
        indicator_blocks[-1]["items"].append({
            "id": ind.id, "name": ind.name, "checked": ind.id in inds,
            "children": [{"id": c.id, "name": c.name, "checked": c.id in inds} for c in asked if c.parent == ind.id]})
    heading_titles = {g.id: g.title for g in config.plan.heading_groups}
    heading_blocks: list[dict] = []
    for h in headings_of(config, ob):
        title = heading_titles.get(h.group) if h.group else None
        if not heading_blocks or heading_blocks[-1]["title"] != title:
            heading_blocks.append({"title": title, "items": []})
        # as the request will ask it: "Phương hướng … thời gian tới", not "… quý tiếp theo"
        heading_blocks[-1]["items"].append({"id": h.id, "title": one_off_words(h.title), "checked": h.id in heads})
    return {"unit_blocks": unit_blocks, "unit_count": len(owing), "indicator_blocks": indicator_blocks,
            "heading_blocks": heading_blocks}


def max_fields(config: Config) -> int:
    """Every box the form can have, with room for the text fields and buttons."""
    return len(config.units) + len(config.groups) + len(config.plan.indicators) + len(config.plan.headings) + 20


# ------------------------------------------------------------------ the route (thin)

def same_request(session: Session, draft: Draft, now: datetime) -> str | None:
    """The key of an identical request opened moments ago, if any."""
    rows = session.exec(select(PeriodRow).where(
        PeriodRow.source == "request", PeriodRow.title == draft.title, PeriodRow.due == draft.deadline,
        PeriodRow.obligation == draft.like, col(PeriodRow.created_at) >= now - DUPLICATE_WINDOW)).all()
    for row in rows:
        if (row.units, row.indicators, row.headings) == (draft.units, draft.indicators, draft.headings):
            return row.key
    return None


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    r = APIRouter(prefix="/vp")
    gate = OfficeGate(ctx, pages, csrf)

    def show(request: Request, config: Config, ob: Obligation, form: Mapping[str, str], errors: dict[str, str],
             status: int = 200) -> Response:
        today = to_local(ctx.clock()).date()
        return gate.page(request, "office_request.html", status, errors=errors,
                         obligations=[{"id": o.id, "title": o.title} for o in config.plan.obligations],
                         like=ob.id, like_title=ob.title, title=form.get("ten", ""), deadline=form.get("han", ""),
                         data_from=form.get("tu_ngay", ""), data_to=form.get("den_ngay", ""),
                         min_date=f"{today + timedelta(days=1):%Y-%m-%d}", **choices(config, ob, form))

    @r.get("/yeu-cau-moi", response_class=HTMLResponse)
    async def new_request(request: Request, nghia_vu: str = "") -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        config = ctx.config()
        # The obligation is chosen first, in a GET form of its own above the request's: its
        # indicators and headings are what the request's boxes list.
        ob = next((o for o in config.plan.obligations if o.id == nghia_vu), config.plan.obligations[0])
        return show(request, config, ob, {}, {})

    @r.post("/yeu-cau-moi", response_class=HTMLResponse)
    async def open_request(request: Request) -> Response:
        config = ctx.config()
        form = await gate.form(request, max_fields=max_fields(config))
        if isinstance(form, Response):
            return form
        obligations = {o.id: o for o in config.plan.obligations}
        ob = obligations.get(form.get("nghia_vu", ""))
        if ob is None:  # a plan reloaded without it, or a crafted post: show the first one's lists
            ob = config.plan.obligations[0]
            return show(request, config, ob, {k: v for k, v in form.items() if k in ("ten", "han", "tu_ngay", "den_ngay")},
                        {"nghia_vu": "Nghĩa vụ này không còn trong kế hoạch; chọn lại."}, 422)
        now = ctx.clock()
        draft, errors = decide(config, ob, form, to_local(now).date())
        if draft is None:
            return show(request, config, ob, form, errors, 422)
        for attempt in range(3):
            told, duplicate = 0, False
            with Session(ctx.engine) as session:
                key = same_request(session, draft, now)
                if key is not None:
                    duplicate = True
                    break
                row = record.open_request(session, config, draft.title, draft.deadline, draft.like, draft.units, now,
                                          indicators=draft.indicators, headings=draft.headings,
                                          data_from=draft.data_from, data_to=draft.data_to)
                gate.audit(session, request, "mo-yeu-cau", row.key, detail=draft.title)
                told = record.announce(session, config, db.request_period(row), now, ctx.settings.mail_from)
                key = row.key
                try:
                    session.commit()
                    break
                except sa.exc.IntegrityError:
                    # Another click took the same key (YC-<deadline>) first: look again, it may be
                    # this very request; else the next free key.
                    session.rollback()
                    if attempt == 2:
                        raise
        if told:
            ctx.after_submit()  # the notices now, with each unit's link
        # A second click lands on the request the first one opened, saying nothing new.
        done = "mo-yeu-cau" if told else "" if duplicate else "mo-yeu-cau-lich"
        return RedirectResponse(f"/vp/ky/{key}" + (f"?xong={done}" if done else ""), status_code=303)

    return r

