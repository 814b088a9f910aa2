"""The `baocao` command. Every message a person reads is Vietnamese."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import click
from sqlmodel import Session

from scheduler import planner, store
from scheduler.clock import Clock, local, system_clock
from scheduler.config import Config, load_config
from scheduler.settings import Settings
from scheduler.text import KIND_LABELS, long_date, short_datetime
from scheduler.yamlsource import ConfigError


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"'{value}' không phải ngày hợp lệ; viết theo dạng YYYY-MM-DD, ví dụ 2026-12-31", param, ctx)


class App:
    """What every command needs: settings, the clock, and on demand the config and the store."""

    def __init__(self, settings: Settings, clock: Clock):
        self.settings = settings
        self.clock = clock

    def config(self) -> Config:
        try:
            return load_config(self.settings.config_dir)
        except ConfigError as exc:
            click.echo(f"Cấu hình có {len(exc.issues)} lỗi, cần sửa trước khi chạy:", err=True)
            for issue in exc.issues:
                click.echo(f"  {issue}", err=True)
            raise SystemExit(1)

    def engine(self):
        return store.open_store(self.settings.database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Thư mục cấu hình (mặc định: BAOCAO_CONFIG_DIR hoặc config/).")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None) -> None:
    """baocao: nhắc hạn, thu thập và tổng hợp báo cáo định kỳ của các đơn vị về Văn phòng Sở."""
    if ctx.obj is None:
        settings = Settings()
        if config_dir is not None:
            settings = settings.model_copy(update={"config_dir": config_dir})
        ctx.obj = App(settings, system_clock)


@cli.command("check-config")
@click.pass_obj
def check_config(app: App) -> None:
    """Kiểm tra plan.yaml và units.yaml; in tóm tắt hoặc mọi lỗi kèm tệp, dòng, trường."""
    config = app.config()
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
@click.option("--from", "start", type=_Date(), required=True, help="Từ ngày (YYYY-MM-DD).")
@click.option("--to", "end", type=_Date(), required=True, help="Đến hết ngày (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON cho máy đọc.")
@click.pass_obj
def plan_cmd(app: App, start: date, end: date, as_json: bool) -> None:
    """Xem trước mọi thư sẽ gửi trong khoảng ngày, theo trạng thái hiện tại của cơ sở dữ liệu
    (giả định từ nay không đơn vị nào nộp thêm)."""
    if end < start:
        raise click.BadParameter("ngày kết thúc trước ngày bắt đầu", param_hint="--to")
    config = app.config()
    now = app.clock()
    with Session(app.engine()) as session:
        periods = list(config.periods) + store.request_periods(session)
        facts = store.load_facts(session, config, now)
    sends = planner.preview(config, periods, facts, local(start), local(end + timedelta(days=1)) - timedelta(microseconds=1))
    if as_json:
        click.echo(json.dumps([s.as_json() for s in sends], ensure_ascii=False, indent=2))
        return
    if not sends:
        click.echo(f"Không có thư nào sẽ gửi từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}.")
        return
    click.echo(f"{len(sends)} thư sẽ gửi từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}:")
    click.echo(f"{'Thời điểm':<26} {'Loại':<16} {'Kỳ':<9} {'Đơn vị':<8} Gửi tới")
    for s in sends:
        to = ", ".join(s.to) + (f" (CC: {', '.join(s.cc)})" if s.cc else "")
        click.echo(f"{short_datetime(s.at):<26} {KIND_LABELS[s.kind]:<16} {s.period.key:<9} {s.unit or 'VP':<8} {to}")


def main() -> None:
    cli(prog_name="baocao")


if __name__ == "__main__":
    main()
