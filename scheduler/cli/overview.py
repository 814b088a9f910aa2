"""The commands that show what is happening and what will: `plan` (every mail the running
service will send, by the tick's own decisions) and `status` (a period: who reported, every
send, the report versions, what is held)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import click

from scheduler.clock import TZ, local
from scheduler.text import KIND_LABELS, SEND_STATUS_LABELS, STATE_LABELS, long_date, short_datetime

def register(cli: click.Group, App: type, _Date: type) -> None:
    """Adds `plan` and `status` to the `baocao` group; App and _Date are main.py's."""
    @cli.command("plan")
    @click.option("--from", "start", type=_Date(), required=True, help="Từ ngày (YYYY-MM-DD hoặc DD/MM/YYYY).")
    @click.option("--to", "end", type=_Date(), required=True, help="Đến hết ngày (YYYY-MM-DD hoặc DD/MM/YYYY).")
    @click.option("--json", "as_json", is_flag=True, help="In dạng JSON cho máy đọc.")
    @click.pass_obj
    def plan_cmd(app: App, start: date, end: date, as_json: bool) -> None:
        """Xem trước mọi thư dịch vụ sẽ gửi trong khoảng ngày, kể cả thư gửi bù và báo cáo tổng hợp
        gửi Văn phòng: tính đúng như dịch vụ tính ở mỗi lượt nhắc (lúc khởi động, 08:00 hằng ngày),
        từ trạng thái hiện tại của cơ sở dữ liệu, giả định dịch vụ chạy liên tục từ bây giờ và từ nay
        không đơn vị nào nộp thêm."""
        from scheduler.policy import planner  # noqa: F401 - the annotations below name it
        from scheduler.service.preview import preview

        if end < start:
            raise click.BadParameter("ngày kết thúc trước ngày bắt đầu", param_hint="--to")
        config = app.config()
        now = app.clock()
        first, last = local(start), local(end + timedelta(days=1)) - timedelta(microseconds=1)
        planned = [p for p in preview(app.engine(), config, now, last) if p.at >= first]
        if as_json:
            click.echo(json.dumps([p.as_json() for p in planned], ensure_ascii=False, indent=2))
            return
        if last < now:
            click.echo(f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y} đã qua: không còn thư nào sẽ gửi. Thư đã gửi: xem "
                       "baocao status --period KỲ.")
            return
        sends = [p for p in planned if not p.held]
        held = [p for p in planned if p.held]
        today = now.astimezone(TZ).date()
        since = f"{start:%d/%m/%Y}" if start >= today else f"bây giờ ({short_datetime(now.astimezone(TZ))})"
        header = ("Thời điểm", "Loại", "Kỳ", "Đơn vị")

        worded: dict[datetime, str] = {}  # a province's sends share a few instants: each worded once

        def when(at: datetime) -> str:
            if at not in worded:
                worded[at] = short_datetime(at.astimezone(TZ))
            return worded[at]

        table = {id(p): (when(p.at), KIND_LABELS[p.send.kind], p.send.period.key, p.send.unit or "VP") for p in planned}
        # Column widths from the data (an on-request key such as YC-20261220-2 is longer than 2026-Q4),
        # never narrower than the usual layout.
        widths = [max([least, len(title)] + [len(cells[i]) for cells in table.values()])
                  for i, (title, least) in enumerate(zip(header, (26, 16, 9, 8)))]

        def line(values, rest: str) -> str:
            return " ".join(f"{v:<{w}}" for v, w in zip(values, widths)) + f" {rest}"

        def row(p: planner.Planned) -> str:
            to = ", ".join(p.send.to) + (f" (CC: {', '.join(p.send.cc)})" if p.send.cc else "")
            if p.caught_up:
                to += f" — gửi bù, lẽ ra gửi {when(p.send.at)}"
            return line(table[id(p)], to)

        if sends:
            click.echo(f"{len(sends)} thư sẽ gửi từ {since} đến {end:%d/%m/%Y}:")
            click.echo(line(header, "Gửi tới"))
            click.echo("\n".join(row(p) for p in sends))  # one write: a province's year is 20,000 lines
            if any(p.at == now for p in sends):
                click.echo(f"Thư ghi lúc {now.astimezone(TZ):%H:%M} hôm nay đã đến lúc gửi: dịch vụ đang chạy gửi ở lượt kiểm "
                           f"tra tới (mỗi {app.settings.retry_minutes} phút), hoặc khi khởi động, hoặc khi chạy "
                           "baocao remind.")
        else:
            click.echo(f"Không có thư nào sẽ gửi từ {since} đến {end:%d/%m/%Y}.")
        if held:
            day = f"{today:%d/%m/%Y}"
            click.echo("")
            click.echo(f"Giữ lại, không gửi: {len(held)} thư báo quá hạn (đồng gửi Thủ trưởng đơn vị). Lần chạy đầu tiên của "
                       "dịch vụ trên cơ sở dữ liệu này đã sau hạn nộp, nên thư báo quá hạn chờ quản trị viên xác nhận đồng hồ "
                       f"máy. Nếu hôm nay đúng là {day}, chạy: baocao confirm-clock {day} — các thư này sẽ gửi ở lượt "
                       "nhắc tới.")
            click.echo(line(header, "Gửi tới"))
            for p in held:
                click.echo(row(p))
        if start < today:
            click.echo("Thư đã gửi trước thời điểm này: xem baocao status --period KỲ.")


    @cli.command("status")
    @click.option("--period", "period_key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.option("--json", "as_json", is_flag=True, help="In dạng JSON cho máy đọc.")
    @click.pass_obj
    def status_cmd(app: App, period_key: str, as_json: bool) -> None:
        """Tình hình một kỳ: đơn vị nào đã nộp (đúng hạn / muộn), chưa nộp, và các thư đã gửi."""
        from sqlmodel import Session, col, select

        from scheduler.policy import planner
        from scheduler.collect.record import standings
        from scheduler.store import db
        from scheduler.store.tables import ReportRow, SendRow
        from scheduler.service.preview import preview
        from scheduler.store.db import REPORT_ERROR

        config = app.config()
        now = app.clock()
        engine = app.engine()
        with Session(engine) as session:
            period = app.period(session, period_key)
            period_key = period.key  # as stored (the office may type 2026-q4)
            states = standings(session, config, period)
            sends = session.exec(select(SendRow).where(SendRow.period_key == period_key)
                                 .order_by(col(SendRow.scheduled_at), col(SendRow.id))).all()
            versions = session.exec(select(ReportRow.version, ReportRow.created_at)
                                    .where(ReportRow.period_key == period_key).order_by(col(ReportRow.version))).all()
            problem = db.read_state(session).get(REPORT_ERROR + period_key)
            # A unit's reminders for this period may go in the mail of another plan's period due
            # the same day (one mail per unit and deadline): those rows, by unit.
            carried: dict[str, list[SendRow]] = {}
            for s in states:
                unit = config.unit(s.code)
                keys = [p.key for p in config.bundle(period, unit)] if unit is not None else []
                earlier = keys[:keys.index(period.key)] if period.key in keys else []
                if earlier:
                    carried[s.code] = list(session.exec(select(SendRow).where(
                        col(SendRow.period_key).in_(earlier), SendRow.audience == s.code,
                        col(SendRow.kind).in_(planner.UNIT_STEP_KINDS)).order_by(col(SendRow.scheduled_at))).all())
        # Overdue mail the first-start clock check holds back is in no ledger row yet: the tick's own
        # decision, replayed for this instant, says which (the same as `baocao plan` shows).
        held = [p.send for p in preview(engine, config, now, now) if p.held and p.send.period.key == period_key]
        today = f"{now.astimezone(TZ):%d/%m/%Y}"
        by_audience: dict[str, list[SendRow]] = {}
        for row in sends:
            by_audience.setdefault(row.audience, []).append(row)
        # Each version's mail to the office: the ledger's report row carrying that version.
        mailed = {row.ref: row.sent_at for row in by_audience.get(planner.OFFICE, []) if row.kind == "report"}
        versions = [(v, created, mailed.get(v)) for v, created in versions]

        def send_json(row: SendRow) -> dict:
            return {"step": row.step, "kind": row.kind, "status": row.status, "attempts": row.attempts,
                    "scheduled_at": row.scheduled_at.astimezone(TZ).isoformat(),
                    "sent_at": row.sent_at.astimezone(TZ).isoformat() if row.sent_at else None,
                    "to": row.to_addrs, "cc": row.cc_addrs, "message_id": row.message_id, "last_error": row.last_error}

        if as_json:
            click.echo(json.dumps({
                "period": period.key, "title": period.title, "deadline": period.deadline.isoformat(),
                "units": [{"unit": s.code, "name": s.name, "state": s.state,
                           "reported_at": s.received_at.astimezone(TZ).isoformat() if s.received_at else None,
                           "sends": [send_json(r) for r in by_audience.get(s.code, [])]
                           + [send_json(r) | {"carried_by": r.period_key} for r in carried.get(s.code, [])]}
                          for s in states],
                "digests": [send_json(r) for r in by_audience.get(planner.OFFICE, [])],
                "reports": [{"version": v, "created_at": c.astimezone(TZ).isoformat(),
                             "mailed_at": m.astimezone(TZ).isoformat() if m else None} for v, c, m in versions],
                "report_error": None if problem is None else {"at": problem.at.astimezone(TZ).isoformat(),
                                                              "message": problem.value},
                "held": [{"unit": s.unit, "kind": s.kind, "step": s.step, "at": s.at.astimezone(TZ).isoformat(),
                          "to": list(s.to), "cc": list(s.cc)} for s in held],
            }, ensure_ascii=False, indent=2))
            return
        counts = {k: sum(s.state == k for s in states) for k in STATE_LABELS}
        click.echo(f"{period.title} ({period.key}) — hạn trước ngày {long_date(period.due)}")
        click.echo("  " + "; ".join(f"{STATE_LABELS[k]}: {v}" for k, v in counts.items()) + f" / {len(states)} đơn vị")
        for s in states:
            when = f" lúc {short_datetime(s.received_at.astimezone(TZ))}" if s.received_at else ""
            if len(s.history) > 1:  # a correction since: the office wants to know the figures moved
                when += f"; bản thứ {s.last.revision} lúc {short_datetime(s.last.received_at.astimezone(TZ))}"
            state = STATE_LABELS[s.state]
            if s.state == "missing" and s.awaiting is not None:
                state = (f"chờ Thủ trưởng duyệt (bản thứ {s.awaiting.revision} gửi lúc "
                         f"{short_datetime(s.awaiting.received_at.astimezone(TZ))})")
            if s.returned is not None:
                state += f"; bản thứ {s.returned.revision} bị trả lại để sửa"
            click.echo(f"  {s.code:<8} {s.name}: {state}{when}")
            for row in by_audience.get(s.code, []):
                click.echo(f"           - {KIND_LABELS.get(row.kind, row.kind)} ({row.step}): {SEND_STATUS_LABELS.get(row.status, row.status)}"
                           f", {row.attempts} lần thử" + (f" — {row.last_error}" if row.last_error else ""))
            for row in carried.get(s.code, []):
                click.echo(f"           - {KIND_LABELS.get(row.kind, row.kind)} ({row.step}), gửi chung trong thư kỳ {row.period_key}: "
                           f"{SEND_STATUS_LABELS.get(row.status, row.status)}")
        for row in by_audience.get(planner.OFFICE, []):
            click.echo(f"  VP       {KIND_LABELS.get(row.kind, row.kind)} ({row.step}): {SEND_STATUS_LABELS.get(row.status, row.status)}"
                       + (f" — {row.last_error}" if row.last_error else ""))
        if held:
            units = ", ".join(sorted({s.unit for s in held if s.unit}))
            click.echo(f"  Giữ lại {len(held)} thư báo quá hạn ({units}): dịch vụ chạy lần đầu trên cơ sở dữ liệu này sau hạn "
                       f"nộp, nên chờ xác nhận đồng hồ máy. Nếu hôm nay đúng là {today}, chạy: baocao confirm-clock {today}")
        for version, created, mailed in versions:
            click.echo(f"  Báo cáo tổng hợp bản {version}: lập lúc {short_datetime(created.astimezone(TZ))}, "
                       + (f"đã gửi Văn phòng lúc {short_datetime(mailed.astimezone(TZ))}" if mailed else "chưa gửi Văn phòng"))
        if problem is not None:
            click.echo(f"  LỖI lập báo cáo tổng hợp lúc {short_datetime(problem.at.astimezone(TZ))}: {problem.value} — "
                       "dịch vụ thử lại ở mỗi lượt kiểm tra; sửa nguyên nhân (thường là mẫu templates/docx) rồi chờ lượt "
                       "tới, hoặc chạy baocao remind")
        elif not versions and now >= period.deadline + planner.REPORT_WINDOW:
            click.echo(f"  Báo cáo tổng hợp: chưa lập; đã quá {planner.REPORT_WINDOW.days} ngày sau hạn nên dịch vụ không "
                       f"tự lập. Lập bằng lệnh: baocao report --period {period.key}")
        elif not versions and now >= period.deadline:
            click.echo("  Báo cáo tổng hợp: chưa lập (dịch vụ lập ở lượt nhắc đầu tiên sau hạn, trong giờ gửi thư)")
