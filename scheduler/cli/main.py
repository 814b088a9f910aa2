"""The `baocao` command. Every message a person reads is Vietnamese."""

from __future__ import annotations

import sys

from scheduler.service import startup

startup.install(sys.argv)  # before the slow imports: see startup.py

import logging
from datetime import date
from pathlib import Path

from typing import TYPE_CHECKING

import click

from scheduler.cli import clitext

clitext.install()  # before any command is declared: click translates some words at declaration


from scheduler.clock import TZ, Clock, system_clock
from scheduler.text import long_date, short_datetime

if TYPE_CHECKING:
    from scheduler.settings import Settings, SettingsError
    from sqlmodel import Session

    from scheduler.config.model import Config
    from scheduler.policy.periods import Period

# A command loads what it uses and nothing more: the config's models when it reads the YAML, the
# store (SQLAlchemy) when it opens the database, the report's libraries (docx, Jinja) when it makes
# or checks one. `baocao --help` and `check-config` start in a fraction of a second (issue 16).


def parse_date(text: str) -> date | None:
    """A date typed as YYYY-MM-DD or as dates are written in Vietnam, DD/MM/YYYY; None if neither."""
    from datetime import datetime as _dt

    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return _dt.strptime(text.strip(), pattern).date()
        except ValueError:
            pass
    return None


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        if (parsed := parse_date(value)) is not None:
            return parsed
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
            from scheduler.config.load import load_config
            from scheduler.config.source import ConfigError

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
        from sqlmodel import Session

        from scheduler.store import db

        try:
            engine = (db.open_store if create else db.open_existing)(self.settings.database_url)
        except db.StoreMissing as exc:
            raise click.ClickException(str(exc))
        with Session(engine) as session:
            db.sync_config(session, self.config(), self.clock())
            session.commit()
        return engine

    def period(self, session: Session, key: str) -> Period:
        """A period of the plan or an on-request report, or the list of those there are."""
        from scheduler.store import db

        periods = {p.key: p for p in db.all_periods(session, self.config())}
        found = periods.get(key) or {k.upper(): p for k, p in periods.items()}.get(key.strip().upper())  # 2026-q4
        if found is None:
            raise click.BadParameter(f"không có kỳ '{key}'; các kỳ hiện có: {', '.join(periods)}", param_hint="--period")
        return found

    def secret(self, create: bool = False) -> None:
        """The link-signing key must exist before mail with links goes out; only `run` makes it."""
        from scheduler.settings import SettingsError

        try:
            self.settings.secret(create=create)
        except SettingsError as exc:
            print_settings_error(exc)
            raise SystemExit(1)

    def service(self, create: bool = False):
        from scheduler.service.tick import Service

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
    from scheduler.settings import SettingsError, load_settings

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
    from scheduler.config.load import load_config
    from scheduler.config.source import ConfigError
    from scheduler.report.render import check_template

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
    parts = {part.id: part for part in (config.part_of(p) for p in config.periods)}
    for part in parts.values():
        name = f" ({part.file})" if len(parts) > 1 else ""
        if part.document is not None:
            click.echo(f"  Kế hoạch{name}: {part.document.title}")
            name = ""
        click.echo(f"  Báo cáo tổng hợp{name}: {part.campaign.title}")
        click.echo(f"    Thời gian thực hiện: {part.campaign.start:%d/%m/%Y} – {part.campaign.end:%d/%m/%Y}.")
    click.echo("  Kỳ báo cáo:")
    width = max([10] + [len(p.key) for p in config.periods])
    title_width = max([14] + [len(p.title) for p in config.periods])
    for period in config.periods:
        count = len(config.units_for(period))
        click.echo(f"    {period.key:<{width}} {period.title:<{title_width}} nộp trước ngày {long_date(period.due)} "
                   f"({count} đơn vị)")


@cli.command("run")
@click.pass_obj
def run_cmd(app: App) -> None:
    """Chạy dịch vụ: nhắc hạn lúc khởi động và hằng ngày, gửi lại thư lỗi; dừng bằng Ctrl+C hoặc SIGTERM."""
    import asyncio

    from scheduler.service import webproc

    setup_logging(app.settings.log_level)
    if webproc.is_child():  # the web process of a `run` (service/webproc), started by it
        webproc.child_main(app.settings, app.clock)
        return
    from scheduler.service.daemon import serve  # APScheduler: the scheduling process's alone
    from scheduler.service.webproc import StartError
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
    if warning := app.settings.link_warning():
        click.echo(f"Cảnh báo: {warning}", err=True)
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
    from sqlmodel import Session

    from scheduler.policy import clockcheck
    from scheduler.store import db

    given = parse_date(today)
    if given is None:
        raise click.BadParameter(f"'{today}' không phải ngày hợp lệ; viết theo dạng DD/MM/YYYY, ví dụ 10/12/2026",
                                 param_hint="DD/MM/YYYY")
    now = app.clock()
    machine = now.astimezone(TZ).date()
    if given != machine:
        raise click.ClickException(
            f"đồng hồ máy đang báo ngày {machine:%d/%m/%Y}, không phải {given:%d/%m/%Y}; chưa xác nhận gì. Nếu gõ "
            "nhầm, nhập lại đúng ngày hôm nay; nếu đồng hồ máy sai, sửa đồng hồ (timedatectl) rồi chạy lại")
    with Session(app.engine()) as session:
        db.put_state(session, clockcheck.CONFIRMED, now, at=now, value=f"{given:%d/%m/%Y}")
        session.commit()
    click.echo(f"Đã xác nhận hôm nay là {given:%d/%m/%Y} ({short_datetime(now.astimezone(TZ))} theo đồng hồ máy). "
               "Thư báo quá hạn đang giữ lại (nếu có) sẽ gửi ở lượt nhắc tới.")


from scheduler.cli import backup, office, overview  # noqa: E402  (they register their commands)

office.register(cli, App, _Date)
overview.register(cli, App, _Date)
backup.register(cli)
clitext.name_metavars(cli)


def main(args: list[str] | None = None) -> None:
    """The entry point. Whatever escapes a command ends as a Vietnamese line and exit code 1 (130 after Ctrl+C);
    the traceback goes to a file for whoever reports the bug, never to the person's screen."""
    # Ctrl+C is startup._on_interrupt's for the whole command (it ends the process at once); a
    # KeyboardInterrupt still arrives from a program that imported the CLI and kept its signals.
    try:
        code = cli(args, prog_name="baocao", standalone_mode=False)  # an int only from click's own exits (--help)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Đã huỷ.", err=True)
        raise SystemExit(130)  # as a shell reports a command stopped by Ctrl+C
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last resort: no traceback for a person
        from scheduler.store import db

        if message := db.database_problem(exc):
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
