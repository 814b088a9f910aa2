"""The `baocao` command. Every message a person reads is Vietnamese."""

from __future__ import annotations

import sys

from scheduler import startup

startup.install(sys.argv)  # before the slow imports: see startup.py

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import click
from sqlmodel import Session

from scheduler import clitext

clitext.install()  # before any command is declared: click translates some words at declaration

from sqlmodel import col, select

from scheduler import planner, store
from scheduler.models import SendRow
from scheduler.calendar import Period
from scheduler.clock import TZ, Clock, local, system_clock
from scheduler.config import Config, load_config
from scheduler.settings import Settings, SettingsError, load_settings
from scheduler.text import KIND_LABELS, long_date, short_datetime
from scheduler.yamlsource import ConfigError


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        from datetime import datetime as _dt

        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):  # ISO, or as dates are written in Vietnam
            try:
                return _dt.strptime(value.strip(), pattern).date()
            except ValueError:
                pass
        self.fail(f"'{value}' không phải ngày hợp lệ; viết dạng YYYY-MM-DD hoặc DD/MM/YYYY, ví dụ 2026-12-31 hoặc "
                  "31/12/2026", param, ctx)


class App:
    """What every command needs: settings, the clock, and on demand the config and the store."""

    def __init__(self, settings: Settings, clock: Clock):
        self.settings = settings
        self.clock = clock
        self._config: Config | None = None

    def config(self) -> Config:
        """Loaded and checked once per command."""
        if self._config is None:
            try:
                self._config = load_config(self.settings.config_dir)
            except ConfigError as exc:
                click.echo(f"Cấu hình có {len(exc.issues)} lỗi, cần sửa trước khi chạy:", err=True)
                for issue in exc.issues:
                    click.echo(f"  {issue}", err=True)
                raise SystemExit(1)
        return self._config

    def templates(self) -> Path:
        """The mail, form and report templates; a message, not a traceback, when a command
        runs away from the source folder without BAOCAO_TEMPLATES_DIR."""
        path = self.settings.templates_dir
        if not all((path / part).is_dir() for part in ("email", "web", "docx")):
            raise click.ClickException(
                f"không tìm thấy thư mục mẫu {path.resolve()} (cần các thư mục email/, web/, docx/); chạy lệnh trong "
                "thư mục mã nguồn hoặc đặt BAOCAO_TEMPLATES_DIR")
        return path

    def engine(self, create: bool = False):
        """The store, in step with the config (units and periods synced). Only `run` creates or
        upgrades it (create=True); every other command needs the service's existing store."""
        try:
            engine = (store.open_store if create else store.open_existing)(self.settings.database_url)
        except store.StoreMissing as exc:
            raise click.ClickException(str(exc))
        with Session(engine) as session:
            store.sync_config(session, self.config(), self.clock())
            session.commit()
        return engine

    def period(self, session: Session, key: str) -> Period:
        """A period of the plan or an on-request report, or the list of those there are."""
        periods = {p.key: p for p in store.all_periods(session, self.config())}
        if key not in periods:
            raise click.BadParameter(f"không có kỳ '{key}'; các kỳ hiện có: {', '.join(periods)}", param_hint="--period")
        return periods[key]

    def secret(self, create: bool = False) -> None:
        """The link-signing key must exist before mail with links goes out; only `run` makes it."""
        try:
            self.settings.secret(create=create)
        except SettingsError as exc:
            print_settings_error(exc)
            raise SystemExit(1)

    def service(self, create: bool = False):
        from scheduler.service import Service

        self.templates()
        if create:
            self.secret(create=True)
            return Service(self.settings, self.clock, self.config(), self.engine(create=True))
        engine = self.engine()  # the missing database is the first thing to tell, then the key
        self.secret()
        return Service(self.settings, self.clock, self.config(), engine)


def setup_logging(level: str) -> None:
    """One line per event on stdout; journald adds the time stamp."""
    logging.basicConfig(stream=sys.stdout, level=level.upper(), format="%(levelname)s %(name)s: %(message)s",
                        force=True)
    # Their routine INFO lines are English noise in journald; ours say the same in Vietnamese
    # ("Biểu mẫu báo cáo và trang Văn phòng: … (nghe tại …)", "Đã dừng.").
    for chatty in ("apscheduler", "alembic", "uvicorn", "uvicorn.error"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Thư mục cấu hình (mặc định: BAOCAO_CONFIG_DIR hoặc config/).")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None) -> None:
    """baocao: nhắc hạn, thu thập và tổng hợp báo cáo định kỳ của các đơn vị về Văn phòng Sở."""
    if ctx.obj is not None:
        return
    if ctx.invoked_subcommand == "hash-password":
        return  # needs no settings, and is how a bad BAOCAO_OFFICE_PASSWORD_HASH gets fixed
    try:
        # Checked here, before any command opens the database: a bad value found later, while
        # mail is being composed, would fail every send of the round for good (issue 9).
        settings = load_settings(**({"config_dir": config_dir} if config_dir is not None else {}))
    except SettingsError as exc:
        print_settings_error(exc)
        raise SystemExit(1)
    ctx.obj = App(settings, system_clock)


def print_settings_error(exc: SettingsError) -> None:
    click.echo(f"Thiết lập có {len(exc.issues)} lỗi (biến môi trường BAOCAO_…), cần sửa trước khi chạy:", err=True)
    for issue in exc.issues:
        click.echo(f"  {issue}", err=True)


@cli.command("check-config")
@click.pass_obj
def check_config(app: App) -> None:
    """Kiểm tra plan.yaml, units.yaml và mẫu báo cáo DOCX; in tóm tắt hoặc mọi lỗi kèm tệp, dòng, trường."""
    from scheduler.report import check_template

    try:
        config: Config | None = load_config(app.settings.config_dir)
        issues: list = []
    except ConfigError as exc:
        config, issues = None, exc.issues
    # A placeholder mistyped in Word would otherwise surface only on the deadline, in the report.
    # With the YAML in error, the template's tags are still checked (their names need the plan).
    try:
        template_dir = app.templates() / "docx"
    except click.ClickException as exc:  # no templates folder: said along with the YAML's errors
        problems = [exc.message]
    else:
        problems = check_template(config, template_dir)
    if issues:
        click.echo(f"Cấu hình có {len(issues)} lỗi, cần sửa trước khi chạy:", err=True)
        for issue in issues:
            click.echo(f"  {issue}", err=True)
    if problems:
        click.echo(f"Mẫu báo cáo có {len(problems)} lỗi, cần sửa trước khi chạy:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
    if issues or problems:
        raise SystemExit(1)
    assert config is not None
    active = [u for u in config.units if u.active]
    plan = config.plan
    click.echo(f"Cấu hình hợp lệ ({config.directory}).")
    click.echo(f"  Đơn vị: {len(active)} đang theo dõi, {len(config.units) - len(active)} tạm ngừng.")
    click.echo(f"  Nghĩa vụ báo cáo: {len(plan.obligations)}; chỉ tiêu: {len(plan.indicators)}; đề mục: {len(plan.headings)}.")
    click.echo(f"  Đợt thi đua: {plan.campaign.start:%d/%m/%Y} – {plan.campaign.end:%d/%m/%Y}.")
    click.echo("  Kỳ báo cáo:")
    for period in config.periods:
        count = len(config.units_for(period))
        click.echo(f"    {period.key:<10} {period.title:<14} nộp trước ngày {long_date(period.due)} ({count} đơn vị)")


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
    from scheduler.service import preview

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

    def cells(p: planner.Planned) -> tuple[str, ...]:
        return (short_datetime(p.at.astimezone(TZ)), KIND_LABELS[p.send.kind], p.send.period.key, p.send.unit or "VP")

    # Column widths from the data (an on-request key such as YC-20261220-2 is longer than 2026-Q4),
    # never narrower than the usual layout.
    widths = [max([least, len(title)] + [len(cells(p)[i]) for p in planned])
              for i, (title, least) in enumerate(zip(header, (26, 16, 9, 8)))]

    def line(values, rest: str) -> str:
        return " ".join(f"{v:<{w}}" for v, w in zip(values, widths)) + f" {rest}"

    def row(p: planner.Planned) -> str:
        to = ", ".join(p.send.to) + (f" (CC: {', '.join(p.send.cc)})" if p.send.cc else "")
        if p.caught_up:
            to += f" — gửi bù, lẽ ra gửi {short_datetime(p.send.at.astimezone(TZ))}"
        return line(cells(p), to)

    if sends:
        click.echo(f"{len(sends)} thư sẽ gửi từ {since} đến {end:%d/%m/%Y}:")
        click.echo(line(header, "Gửi tới"))
        for p in sends:
            click.echo(row(p))
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


@cli.command("run")
@click.pass_obj
def run_cmd(app: App) -> None:
    """Chạy dịch vụ: nhắc hạn lúc khởi động và hằng ngày, gửi lại thư lỗi; dừng bằng Ctrl+C hoặc SIGTERM."""
    import asyncio

    from scheduler.service import StartError, serve

    setup_logging(app.settings.log_level)
    try:
        asyncio.run(serve(app.service(create=True)))
    except StartError as exc:
        raise click.ClickException(str(exc))


@cli.command("remind")
@click.pass_obj
def remind_cmd(app: App) -> None:
    """Chạy một lượt nhắc (như dịch vụ làm lúc 08:00) rồi thoát."""
    import asyncio

    setup_logging(app.settings.log_level)
    report = asyncio.run(app.service().tick())
    click.echo(f"Lượt nhắc xong — {report}.")
    for key, message in report.report_errors.items():
        click.echo(f"Lỗi: không lập được báo cáo tổng hợp kỳ {key}: {message}", err=True)
    if report.report_errors:
        raise SystemExit(1)  # cron and scripts see that the office's report is not there


@cli.command("confirm-clock")
@click.argument("today", metavar="DD/MM/YYYY")
@click.pass_obj
def confirm_clock_cmd(app: App, today: str) -> None:
    """Xác nhận ngày hôm nay đúng với đồng hồ máy, để lần chạy đầu tiên gửi các thư báo quá hạn đang giữ lại."""
    from datetime import datetime as _dt

    from scheduler import clockcheck

    try:
        given = _dt.strptime(today.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise click.BadParameter(f"'{today}' không phải ngày hợp lệ; viết theo dạng DD/MM/YYYY, ví dụ 10/12/2026",
                                 param_hint="DD/MM/YYYY")
    now = app.clock()
    machine = now.astimezone(TZ).date()
    if given != machine:
        raise click.ClickException(
            f"đồng hồ máy đang báo ngày {machine:%d/%m/%Y}, không phải {given:%d/%m/%Y}; chưa xác nhận gì. Nếu gõ "
            "nhầm, nhập lại đúng ngày hôm nay; nếu đồng hồ máy sai, sửa đồng hồ (timedatectl) rồi chạy lại")
    with Session(app.engine()) as session:
        store.put_state(session, clockcheck.CONFIRMED, now, at=now, value=f"{given:%d/%m/%Y}")
        session.commit()
    click.echo(f"Đã xác nhận hôm nay là {given:%d/%m/%Y} ({short_datetime(now.astimezone(TZ))} theo đồng hồ máy). "
               "Thư báo quá hạn đang giữ lại (nếu có) sẽ gửi ở lượt nhắc tới.")


STATE_LABELS = {"on_time": "Đã nộp đúng hạn", "late": "Nộp muộn", "missing": "Chưa nộp"}
STATUS_LABELS = {"pending": "chờ gửi", "sending": "đang gửi", "sent": "đã gửi", "failed": "LỖI",
                 "cancelled": "đã huỷ"}


@cli.command("status")
@click.option("--period", "period_key", required=True, help="Kỳ báo cáo, ví dụ 2026-Q4.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON cho máy đọc.")
@click.pass_obj
def status_cmd(app: App, period_key: str, as_json: bool) -> None:
    """Tình hình một kỳ: đơn vị nào đã nộp (đúng hạn / muộn), chưa nộp, và các thư đã gửi."""
    from scheduler.collection import standings

    from scheduler.models import ReportRow
    from scheduler.service import REPORT_ERROR, preview

    config = app.config()
    now = app.clock()
    engine = app.engine()
    with Session(engine) as session:
        period = app.period(session, period_key)
        states = standings(session, config, period)
        sends = session.exec(select(SendRow).where(SendRow.period_key == period_key)
                             .order_by(col(SendRow.scheduled_at), col(SendRow.id))).all()
        versions = session.exec(select(ReportRow.version, ReportRow.created_at)
                                .where(ReportRow.period_key == period_key).order_by(col(ReportRow.version))).all()
        problem = store.read_state(session).get(REPORT_ERROR + period_key)
    # Overdue mail the first-start clock check holds back is in no ledger row yet: the tick's own
    # decision, replayed for this instant, says which (the same as `baocao plan` shows).
    held = [p.send for p in preview(engine, config, now, now) if p.held and p.send.period.key == period_key]
    today = f"{now.astimezone(TZ):%d/%m/%Y}"
    by_audience: dict[str, list[SendRow]] = {}
    for row in sends:
        by_audience.setdefault(row.audience, []).append(row)
    # Each version's mail to the office is the ledger's step report-vN.
    mailed = {row.step: row.sent_at for row in by_audience.get(planner.OFFICE, []) if row.kind == "report"}
    versions = [(v, created, mailed.get(f"report-v{v}")) for v, created in versions]

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
                       "sends": [send_json(r) for r in by_audience.get(s.code, [])]} for s in states],
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
        click.echo(f"  {s.code:<8} {s.name}: {STATE_LABELS[s.state]}{when}")
        for row in by_audience.get(s.code, []):
            click.echo(f"           - {KIND_LABELS[row.kind]} ({row.step}): {STATUS_LABELS.get(row.status, row.status)}"
                       f", {row.attempts} lần thử" + (f" — {row.last_error}" if row.last_error else ""))
    for row in by_audience.get(planner.OFFICE, []):
        click.echo(f"  VP       {KIND_LABELS[row.kind]} ({row.step}): {STATUS_LABELS.get(row.status, row.status)}"
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
    elif not versions and now >= period.deadline:
        click.echo("  Báo cáo tổng hợp: chưa lập (dịch vụ lập ở lượt nhắc đầu tiên sau hạn, trong giờ gửi thư)")


from scheduler import cli_collect  # noqa: E402  (registers the office's commands)

cli_collect.register(cli, App, _Date)
clitext.name_metavars(cli)


def _database_problem(exc: BaseException) -> str | None:
    """What a person can do about a database that cannot be used, or None if it is not that."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    detail = str(exc.orig).strip()
    lowered = detail.lower()
    if "locked" in lowered or "busy" in lowered:
        return (f"cơ sở dữ liệu đang bị một tiến trình khác khoá quá lâu ({detail}); thử lại sau ít phút. Nếu lỗi lặp "
                "lại, kiểm tra tiến trình nào đang giữ tệp (fuser -v TỆP) — có thể một lệnh sao lưu hoặc sqlite3 đang mở.")
    if "not a database" in lowered or "malformed" in lowered:
        return (f"tệp cơ sở dữ liệu hỏng hoặc không phải SQLite ({detail}); kiểm tra BAOCAO_DATABASE_URL, hoặc khôi phục "
                "từ bản sao lưu.")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered or "permission" in lowered:
        return (f"không ghi được vào cơ sở dữ liệu ({detail}); người dùng chạy lệnh cần quyền ghi tệp cơ sở dữ liệu và "
                "thư mục chứa nó (chạy bằng đúng người dùng của dịch vụ, ví dụ sudo -u baocao).")
    return f"lỗi cơ sở dữ liệu: {detail}; kiểm tra BAOCAO_DATABASE_URL và máy chủ cơ sở dữ liệu."


def main(args: list[str] | None = None) -> None:
    """The entry point. Whatever escapes a command ends as a Vietnamese line and exit code 1;
    the traceback goes to a file for whoever reports the bug, never to the person's screen."""
    try:
        code = cli(args, prog_name="baocao", standalone_mode=False)  # an int only from click's own exits (--help)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except click.exceptions.Abort:
        click.echo("Đã huỷ.", err=True)
        raise SystemExit(1)
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the last resort: no traceback for a person
        if message := _database_problem(exc):
            click.echo(f"Lỗi: {message}", err=True)
            raise SystemExit(1)
        import tempfile
        import traceback

        fd, path = tempfile.mkstemp(prefix="baocao-loi-", suffix=".txt")
        with open(fd, "w", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        click.echo(f"Lỗi không lường trước ({type(exc).__name__}: {exc}). Chi tiết kỹ thuật đã ghi vào {path}; gửi tệp "
                   "này cho người quản trị hệ thống.", err=True)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
