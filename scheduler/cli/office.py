"""Commands for the office's own channels: reports arriving on paper or by dispatch,
the XLSX template, exports, on-request reports, closing a period."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

# The store, the collector and their libraries load in the commands that use them: `baocao
# check-config` or `--help` does not pay for SQLAlchemy (see tests/cli/test_imports.py).
from scheduler.clock import TZ, local, to_local
from scheduler.text import long_date, os_error, parse_moment, short_datetime


def register(cli: click.Group, app_type, date_type) -> None:
    @cli.command("template")
    @click.option("--period", "key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Tệp XLSX sẽ ghi.")
    @click.option("--unit", "code", default=None,
                  help="Mã đơn vị: mẫu chỉ gồm những gì hỏi đơn vị này (không ghi: mẫu chung cho mọi đơn vị).")
    @click.pass_obj
    def template_cmd(app, key: str, output: Path, code: str | None) -> None:
        """Ghi mẫu XLSX để đơn vị điền số liệu, thuyết minh (gửi lại bằng `baocao submit`)."""
        from sqlmodel import Session

        from scheduler.collect import workbook

        config = app.config()
        unit = None
        if code is not None:
            unit = config.unit(code.strip().upper())
            if unit is None:
                raise click.BadParameter(f"không có đơn vị '{code.strip().upper()}' trong units.yaml", param_hint="--unit")
        with Session(app.engine()) as session:
            period = app.period(session, key)
            key = period.key  # as stored (the office may type 2026-q4)
        write_file(output, workbook.template(config, period, unit))
        whose = f" của {unit.name}" if unit else ""
        click.echo(f"Đã ghi mẫu báo cáo {period.title}{whose} vào {output}.")

    @cli.command("submit")
    @click.option("--unit", "code", required=True, help="Mã đơn vị, ví dụ TTBVTV.")
    @click.option("--period", "key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.option("--received", "received", default=None,
                  help="Thời điểm Văn phòng nhận văn bản, nếu khác lúc nhập: 'DD/MM/YYYY HH:MM' (giờ Việt Nam).")
    @click.option("--paper", is_flag=True, default=False,
                  help="Gõ lại từ văn bản giấy hoặc công văn có chữ ký Thủ trưởng đơn vị: khi kế hoạch cần Thủ "
                       "trưởng duyệt, bản này tính là đã duyệt (không gửi thư xin duyệt).")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.pass_obj
    def submit_cmd(app, code: str, key: str, received: str | None, paper: bool, file: Path) -> None:
        """Nhập báo cáo của một đơn vị từ tệp YAML/JSON hoặc mẫu XLSX đã điền."""
        from sqlmodel import Session
        
        from scheduler.collect import record
        from scheduler.store import reviews

        import asyncio

        from scheduler.collect import workbook

        config = app.config()
        code = code.strip().upper()  # unit codes are upper case; `--unit mt` means MT
        unit = config.unit(code)
        if unit is None:
            raise click.BadParameter(f"không có đơn vị '{code}' trong units.yaml", param_hint="--unit")
        received_at = None
        if received:
            # A date alone means the office's working day opened with it: 07:30 (parse_moment).
            received_at = parse_moment(received)
            if received_at is None:
                raise click.BadParameter(f"'{received}' không phải thời điểm hợp lệ; viết 'DD/MM/YYYY HH:MM' hoặc "
                                         "'YYYY-MM-DD HH:MM', ví dụ '04/12/2026 16:30' (ngày phải có thật)",
                                         param_hint="--received")
            if received_at > app.clock():
                raise click.BadParameter(f"'{received}' ở tương lai", param_hint="--received")
        service = app.service()
        with Session(service.engine) as session:
            period = app.period(session, key)
            key = period.key  # as stored (the office may type 2026-q4)
            if received_at is not None and received_at.date() < period.start:
                # Before the period it reports on even began: almost always day and month swapped.
                raise click.BadParameter(
                    f"ngày nhận {received_at:%d/%m/%Y} trước khi kỳ {period.title} bắt đầu ({period.start:%d/%m/%Y}); "
                    "kiểm tra lại ngày/tháng (viết DD/MM/YYYY)", param_hint="--received")
            try:
                imported = workbook.import_file(file, config, period, unit.code)
            except workbook.ImportError_ as exc:
                _fail(file, exc)
            except OSError as exc:  # unreadable: permissions, a file vanishing mid-read
                raise click.ClickException(f"không đọc được tệp {file}: {os_error(exc)}")
            if imported.note:
                click.echo(imported.note)
            report = imported.report
            now = app.clock()
            try:
                recorded = record.record(session, config, period, unit, report, "file", now, received_at,
                                         mail_from=app.settings.mail_from, signed=paper,
                                         note="Văn bản giấy/công văn có chữ ký Thủ trưởng" if paper else None)
            except record.ClosedPeriod:
                raise click.ClickException(f"kỳ {period.title} đã khoá, không nhận thêm báo cáo")
            session.commit()
            sub = recorded.submission
            if not recorded.created:
                # The same file entered twice: its receipt went (or is queued) with the first.
                click.echo(f"Báo cáo {period.title} của {unit.name} trong {file} giống hệt bản thứ {sub.revision} "
                           f"đã nhận lúc {short_datetime(to_local(sub.received_at))}: không ghi thêm bản mới, "
                           f"không gửi lại thư xác nhận.")
                return
            click.echo(f"Đã ghi báo cáo {period.title} của {unit.name}: bản thứ {sub.revision}, nhận lúc "
                       f"{short_datetime(to_local(sub.received_at))} ({'đúng hạn' if sub.on_time else 'sau hạn'}).")
            if reviews.required(config, period) and not paper:
                click.echo("Kế hoạch cần Thủ trưởng đơn vị duyệt: đã gửi thư xin duyệt; báo cáo chỉ tính là đã nộp khi "
                           "Thủ trưởng duyệt (văn bản đã có chữ ký Thủ trưởng thì nhập với --paper).")
        result = asyncio.run(service.retry())  # the receipt to the unit's focal points
        if result.sent and app.settings.dry_run:
            click.echo(f"Đã ghi thư xác nhận vào {app.settings.outbox_dir} (chưa cấu hình SMTP, thư chưa gửi đi).")
        elif result.sent:
            click.echo("Đã gửi thư xác nhận cho đầu mối của đơn vị.")
        elif result.waiting:
            click.echo("Chưa gửi được thư xác nhận; dịch vụ sẽ gửi lại.")

    @cli.command("export")
    @click.option("--period", "key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Tệp sẽ ghi (mặc định: so-lieu-KỲ.xlsx|csv).")
    @click.pass_obj
    def export_cmd(app, key: str, fmt: str, output: Path | None) -> None:
        """Xuất số liệu một kỳ (bản gần nhất của mỗi đơn vị) ra XLSX hoặc CSV."""
        from sqlmodel import Session

        from scheduler.collect import exports

        config = app.config()
        with Session(app.engine()) as session:
            period = app.period(session, key)
            key = period.key  # as stored (the office may type 2026-q4)
            rows = exports.period_table(session, config, period)
        output = output or Path(f"so-lieu-{key}.{fmt}")
        write_file(output, exports.to_xlsx(config, period, rows) if fmt == "xlsx" else exports.to_csv(config, period, rows))
        click.echo(f"Đã xuất số liệu {period.title} ({sum(r.state != 'missing' for r in rows)}/{len(rows)} đơn vị "
                   f"đã nộp) vào {output}.")

    @cli.command("request")
    @click.option("--title", required=True, help="Tên báo cáo đột xuất.")
    @click.option("--deadline", type=date_type(), required=True, help="Nộp trước ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
    @click.option("--units", default=None, help="Mã các đơn vị, cách nhau dấu phẩy (mặc định: tất cả).")
    @click.option("--like", "like", default=None,
                  help="Dùng chỉ tiêu, đề mục của nghĩa vụ này trong plan.yaml (mặc định: nghĩa vụ đầu tiên).")
    @click.option("--indicators", default=None, metavar="MÃ,MÃ,...",
                  help="Chỉ hỏi các chỉ tiêu này của nghĩa vụ: mã, cách nhau dấu phẩy. Ghi --indicators hoặc "
                       "--headings thì báo cáo chỉ hỏi những gì được ghi; không ghi cả hai: hỏi mọi chỉ tiêu, "
                       "đề mục của nghĩa vụ.")
    @click.option("--headings", default=None, metavar="MÃ,MÃ,...",
                  help="Chỉ hỏi các đề mục thuyết minh này của nghĩa vụ: mã, cách nhau dấu phẩy.")
    @click.pass_obj
    def request_cmd(app, title: str, deadline: date, units: str | None, like: str | None, indicators: str | None,
                    headings: str | None) -> None:
        """Mở một báo cáo đột xuất ("khi có yêu cầu"): nhắc hạn và biểu mẫu như một kỳ báo cáo."""
        from sqlmodel import Session
        
        from scheduler.collect import record
        from scheduler.store import db

        config = app.config()
        like = like or config.plan.obligations[0].id
        if like not in {o.id for o in config.plan.obligations}:
            raise click.BadParameter(f"không có nghĩa vụ '{like}' trong plan.yaml", param_hint="--like")
        asked_indicators, asked_headings = _subset(config, config.obligation(like), indicators, headings)
        codes = [c.strip().upper() for c in units.split(",") if c.strip()] if units else None
        unknown = [c for c in codes or [] if config.unit(c) is None]
        if unknown:
            raise click.BadParameter(f"không có đơn vị: {', '.join(unknown)}", param_hint="--units")
        now = app.clock()
        if deadline <= to_local(now).date():
            raise click.BadParameter("hạn nộp phải sau hôm nay", param_hint="--deadline")
        service = app.service()
        with Session(service.engine) as session:
            row = record.open_request(session, config, title.strip(), deadline, like, codes, now,
                                      indicators=asked_indicators, headings=asked_headings)
            told = record.announce(session, config, db.request_period(row), now, app.settings.mail_from)
            session.commit()
            # Counted as the reminders will count them: an inactive unit named in --units owes nothing.
            key, count = row.key, len(config.units_for(db.request_period(row)))
        from scheduler.service.preview import preview

        if told:  # the notices now, not on the notice step's day: the office asked today
            import asyncio

            result = asyncio.run(service.retry())
            where = f" (ghi vào {app.settings.outbox_dir}, chưa cấu hình SMTP)" if app.settings.dry_run else ""
            when = (f"Đã gửi thư thông báo tới {result.sent} đơn vị{where}" if result.sent
                    else "Thư thông báo chưa gửi được, dịch vụ sẽ gửi lại")
        else:
            first = next((p for p in preview(app.engine(), config, now, local(deadline))
                          if p.send.period.key == key and p.send.kind != "report"), None)
            when = (f"Thư thông báo đầu tiên dịch vụ gửi lúc {short_datetime(first.at.astimezone(TZ))}"
                    if first else "Theo lịch nhắc trong plan.yaml, không còn thư nào để gửi trước hạn")
        what = ("" if asked_indicators is None else
                f", hỏi {len(asked_indicators)} chỉ tiêu và {len(asked_headings or [])} đề mục thuyết minh")
        click.echo(f"Đã mở báo cáo đột xuất {key}: “{title.strip()}”, nộp trước ngày {long_date(deadline)}, "
                   f"{count} đơn vị{what}. {when}; xem cả lịch: baocao plan --from {to_local(now):%d/%m/%Y} "
                   f"--to {deadline:%d/%m/%Y}.")

    @cli.command("close")
    @click.option("--period", "key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.pass_obj
    def close_cmd(app, key: str) -> None:
        """Khoá một kỳ: không nhận thêm bản sửa đổi, không nhắc nữa; đường dẫn chỉ còn xem."""
        from sqlmodel import Session
        
        from scheduler.collect import record

        with Session(app.engine()) as session:
            period = app.period(session, key)
            key = period.key  # as stored (the office may type 2026-q4)
            changed = record.close(session, period.key, app.clock())
            session.commit()
        click.echo(f"Đã khoá kỳ {period.title}." if changed else f"Kỳ {period.title} đã khoá từ trước.")

    @cli.command("report")
    @click.option("--period", "key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Tệp DOCX sẽ ghi (mặc định: bao-cao-KỲ.docx); bản PDF, nếu có, ghi cạnh nó, cùng tên.")
    @click.option("--version", "version", type=int, default=None, metavar="N",
                  help="Lấy bản đã lưu số N (bản dịch vụ đã gửi Văn phòng) thay vì lập từ số liệu hiện tại.")
    @click.option("--no-pdf", "no_pdf", is_flag=True,
                  help="Chỉ ghi bản DOCX, không chuyển sang PDF (LibreOffice mất nhiều phút với hàng nghìn đơn vị).")
    @click.pass_obj
    def report_cmd(app, key: str, output: Path | None, version: int | None, no_pdf: bool = False) -> None:
        """Lập báo cáo tổng hợp DOCX (thể thức Nghị định 30/2020/NĐ-CP) của một kỳ từ số liệu hiện có, kèm bản PDF
        khi máy có LibreOffice."""
        from sqlmodel import Session, select

        from scheduler.report import versions
        from scheduler.store.tables import ReportRow
        from scheduler.report.docx import TemplateError
        from scheduler.report.pdf import to_pdf
        from scheduler.report.render import render

        config = app.config()
        with Session(app.engine()) as session:
            period = app.period(session, key)
            key = period.key  # as stored (the office may type 2026-q4)
            if version is not None:
                row = session.exec(select(ReportRow).where(ReportRow.period_key == key,
                                                           ReportRow.version == version)).first()
                if row is None:
                    raise click.BadParameter(f"kỳ {key} chưa có bản số {version} "
                                             f"(đã có {versions.version_count(session, key)} bản)", param_hint="--version")
                content, pdf = row.content, row.pdf
                note = f"bản số {version}, lập lúc {short_datetime(to_local(row.created_at))}"
            else:
                result = versions.consolidation(session, config, period)
                try:
                    now = app.clock()
                    content = render(config, result, to_local(now).date(), app.templates() / "docx", now)
                except TemplateError as exc:
                    raise click.ClickException(f"không lập được báo cáo: {exc}")
                note = (f"{len(result.on_time) + len(result.late)}/{len(result.units)} đơn vị có số liệu, "
                        f"{len(result.missing)} đơn vị chưa báo cáo")
        if no_pdf:
            pdf = None
        elif version is None or pdf is None:
            # Once the session is closed: the conversion takes seconds and needs nothing of the
            # store. A stored version made without LibreOffice gets its PDF now if it is installed
            # since. Without it, to_pdf says so on stderr and the DOCX is written alone.
            pdf = to_pdf(content)
        output = output or Path(f"bao-cao-{key}{'-ban-' + str(version) if version else ''}.docx")
        write_file(output, content)
        if pdf is not None:
            # Beside the DOCX, under its name: -o bao-cao.docx gives bao-cao.pdf.
            beside = output.with_suffix(".pdf") if output.suffix.lower() == ".docx" else Path(f"{output}.pdf")
            write_file(beside, pdf)
            also = f", bản PDF vào {beside}"
        else:
            also = ""
        click.echo(f"Đã ghi báo cáo tổng hợp {period.title} ({note}) vào {output}{also}.")

    @cli.command("hash-password")
    def hash_password_cmd() -> None:
        """Tạo mã băm mật khẩu cho trang Văn phòng (đặt vào BAOCAO_OFFICE_PASSWORD_HASH)."""
        from scheduler.web.security import hash_password

        import sys
        import warnings

        with warnings.catch_warnings():
            # Piped in (a script, an installer), there is no terminal to hide the input on, and
            # getpass says so in English: the password is not on anyone's screen in that case.
            warnings.simplefilter("ignore")
            password = click.prompt("Mật khẩu mới", hide_input=sys.stdin.isatty(),
                                    confirmation_prompt="Nhập lại mật khẩu")
        if len(password) < 10:
            raise click.ClickException("mật khẩu cần ít nhất 10 ký tự")
        click.echo(hash_password(password))


def _subset(config, ob, indicators: str | None, headings: str | None) -> tuple[list[str] | None, list[str] | None]:
    """What a request asks, from --indicators and --headings: (None, None) when neither is given
    (the obligation's whole form); else exactly the ids given, in the plan's order."""
    if indicators is None and headings is None:
        return None, None
    from scheduler.web.requests import headings_of, indicators_of, orphan_message, orphans

    chosen_indicators = _ids(indicators, [i.id for i in indicators_of(config, ob)], "chỉ tiêu", ob.id, "--indicators")
    chosen_headings = _ids(headings, [h.id for h in headings_of(config, ob)], "đề mục", ob.id, "--headings")
    if not chosen_indicators and not chosen_headings:
        raise click.BadParameter("ghi ít nhất một mã chỉ tiêu hoặc một mã đề mục", param_hint="--indicators / --headings")
    lost = orphans(config, ob, set(chosen_indicators))
    if lost:
        raise click.BadParameter("; ".join(f"'{c.id}': {orphan_message(c, p)} ('{p.id}')" for c, p in lost),
                                 param_hint="--indicators")
    return chosen_indicators, chosen_headings


def _ids(text: str | None, known: list[str], what: str, like: str, hint: str) -> list[str]:
    """The ids in a comma-separated option, as the plan writes them (case aside), in its order."""
    typed = [t.strip() for t in (text or "").split(",") if t.strip()]
    folded = {k.casefold(): k for k in known}
    found = {folded[t.casefold()] for t in typed if t.casefold() in folded}
    unknown = [t for t in typed if t.casefold() not in folded]
    if unknown:
        typed_list = ", ".join(f"'{u}'" for u in unknown)
        known_list = ", ".join(known) or "không có"
        raise click.BadParameter(f"nghĩa vụ '{like}' không có {what} {typed_list}; các {what} của nghĩa vụ: {known_list}",
                                 param_hint=hint)
    return [k for k in known if k in found]


def write_file(output: Path, content: bytes) -> None:
    """Write a command's output file, or say in Vietnamese why it cannot be written."""
    if not output.parent.is_dir():
        raise click.ClickException(f"không có thư mục {output.parent.resolve()} để ghi {output.name}; tạo thư mục "
                                   "trước hoặc chọn đường dẫn khác cho -o")
    try:
        output.write_bytes(content)
    except IsADirectoryError:
        raise click.ClickException(f"{output} là một thư mục; ghi rõ tên tệp sau -o")
    except PermissionError:
        raise click.ClickException(f"không có quyền ghi {output.resolve()}")
    except OSError as exc:
        raise click.ClickException(f"không ghi được {output.resolve()}: {os_error(exc)}")


def _fail(file: Path, exc) -> None:
    """Every problem of a refused import at once, with the count its heading promises."""
    problems = exc.problems
    if exc.note:
        click.echo(exc.note, err=True)
    if len(problems) == 1 and not problems[0].where:
        click.echo(f"Không ghi được báo cáo: {problems[0].message}", err=True)
        raise SystemExit(1)
    click.echo(f"Không ghi được báo cáo từ {file}: có {len(problems)} lỗi, cần sửa tất cả rồi nhập lại "
               "(chưa ghi gì):", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    raise SystemExit(1)
