"""The admin's commands, run as an admin runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from scheduler.cli.main import cli
from tests.conftest import ROOT, SHIPPED_CONFIG, cli_run as run, edit, line_of

DEFAULT_STEPS = {
    "2026-Q2": {"notice": ["2026-05-22"], "reminder": ["2026-06-02", "2026-06-04"], "overdue": ["2026-06-05", "2026-06-09"]},
    "2026-Q3": {"notice": ["2026-08-20"], "reminder": ["2026-08-28", "2026-09-04"], "overdue": ["2026-09-07", "2026-09-09"]},
    "2026-Q4": {"notice": ["2026-11-20"], "reminder": ["2026-12-02", "2026-12-04"], "overdue": ["2026-12-07", "2026-12-09"]},
}
DIGESTS = {"2026-Q2": ["2026-06-04", "2026-06-05"], "2026-Q3": ["2026-09-04", "2026-09-07"],
           "2026-Q4": ["2026-12-04", "2026-12-07"]}
# The consolidated report goes to the office at the first working-day tick from the deadline.
REPORTS = {"2026-Q2": ["2026-06-05"], "2026-Q3": ["2026-09-07"], "2026-Q4": ["2026-12-07"]}


def test_check_config_passes_on_the_shipped_config(db_url):
    result = run(["check-config"], db_url)
    assert result.exit_code == 0, result.output
    assert "Cấu hình hợp lệ" in result.output
    assert "2026-Q4    Quý IV/2026    nộp trước ngày Thứ Bảy, 05/12/2026 (18 đơn vị)" in result.output


def test_check_config_fails_naming_duplicate_code_and_bad_email(db_url, config_dir):
    units = config_dir / "units.yaml"
    edit(units, "code: TTRA", "code: BPMC")
    edit(units, "email: khtc.daumoi@example.org", "email: abc")
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "check-config"], env={"BAOCAO_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert "Cấu hình có 2 lỗi" in result.output
    assert f"{units}:{line_of(units, 'code: BPMC', 2)}: đơn vị BPMC (Thanh tra Sở) › code: mã đơn vị 'BPMC' trùng" in result.output
    assert f"{units}:{line_of(units, 'email: abc')}: đơn vị KHTC › đầu mối Phạm Thu Hà › email: 'abc' không phải địa chỉ email hợp lệ" in result.output


@freeze_time("2026-05-01 01:00:00")
def test_plan_json_on_a_fresh_database_lists_the_default_steps_for_every_active_unit(db_url, shipped_config):
    result = run(["plan", "--from", "2026-05-01", "--to", "2026-12-31", "--json"], db_url)
    assert result.exit_code == 0, result.output
    sends = json.loads(result.output)
    assert all(set(s) == {"at", "kind", "period", "unit", "to", "cc"} for s in sends)
    assert [s["at"] for s in sends] == sorted(s["at"] for s in sends)
    assert all(s["at"].endswith("T08:00:00+07:00") for s in sends)
    active = {u.code for u in shipped_config.units if u.active}
    by_unit: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for s in sends:
        by_unit[s["unit"], s["period"]][s["kind"]].append(s["at"][:10])
    for code in active:
        for period, steps in DEFAULT_STEPS.items():
            assert by_unit[code, period] == steps, (code, period)
    for period, days in DIGESTS.items():
        assert by_unit[None, period] == {"digest": days, "report": REPORTS[period]}
    assert {u for u, _ in by_unit} == active | {None}
    assert not [s for s in sends if s["at"].startswith("2026-11-24")]  # Ngày Văn hoá Việt Nam
    overdue = [s for s in sends if s["kind"] == "overdue" and s["unit"] == "KL"]
    assert all(s["cc"] == ["kiemlam.truongdonvi@example.org"] for s in overdue)


@freeze_time("2026-11-01 01:00:00")
def test_plan_human_form_is_a_vietnamese_table(db_url):
    result = run(["plan", "--from", "2026-11-01", "--to", "2026-11-30"], db_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "18 thư sẽ gửi từ 01/11/2026 đến 30/11/2026:"
    assert lines[2].startswith("08:00 Thứ Sáu 20/11/2026   Thông báo        2026-Q4   BPMC")


def test_plan_rejects_a_bad_date_in_vietnamese(db_url):
    result = run(["plan", "--from", "2026-13-01", "--to", "2026-12-31"], db_url)
    assert result.exit_code == 2
    assert "'2026-13-01' không phải ngày hợp lệ" in result.output


ENGLISH = ("Usage", "Error", "Options", "Commands", "Missing", "No such", "Show this", "Try ", "TEXT", "required",
           "not a valid", "Did you mean", "INTEGER", "DIRECTORY", "FILE")


@pytest.mark.parametrize("args, expected", [
    (["report"], "Lỗi: Thiếu tuỳ chọn '--period'."),
    (["reprt"], "Lỗi: Không có lệnh 'reprt'. (Có phải là một trong các lệnh: 'export', 'report'?)"),
    (["report", "--period", "2026-Q4", "--version", "hai"],
     "Lỗi: Giá trị không hợp lệ cho '--version': 'hai' không phải là số hợp lệ."),
    (["export", "--period", "2026-Q4", "--format", "pdf"],
     "Lỗi: Giá trị không hợp lệ cho '--format': 'pdf' không hợp lệ, chỉ nhận một trong: 'xlsx', 'csv'."),
    (["submit", "--unit", "KL", "--period", "2026-Q4", "khong-co.xlsx"],
     "Lỗi: Giá trị không hợp lệ cho 'TỆP': Tệp 'khong-co.xlsx' không tồn tại."),
    (["--help"], "Tuỳ chọn:"),
    (["report", "--help"], "--period KỲ       Kỳ báo cáo, ví dụ 2026-Q4.  [bắt buộc]"),
])
def test_click_s_own_messages_are_vietnamese_too(tmp_path, args, expected):
    """What an admin sees after a typo, in a real `baocao` process."""
    env = dict(os.environ, BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}", BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    run = subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    shown = run.stdout + run.stderr
    assert expected in shown
    assert not [word for word in ENGLISH if word in shown], shown
    if args[-1] != "--help":
        assert run.returncode == 2 and "Cách dùng: baocao" in shown


def test_run_away_from_the_templates_a_command_says_where_it_looked(tmp_path, db_url):
    env = dict(os.environ, BAOCAO_DATABASE_URL=db_url, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    env.pop("BAOCAO_TEMPLATES_DIR", None)
    run = subprocess.run([sys.executable, "-m", "scheduler", "report", "--period", "2026-Q4"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (f"Lỗi: không tìm thấy thư mục mẫu {tmp_path / 'templates'} (cần các thư mục email/, "
                                  "web/, docx/); chạy lệnh trong thư mục mã nguồn hoặc đặt BAOCAO_TEMPLATES_DIR")


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_plan_does_not_depend_on_the_host_timezone(tmp_path, tz):
    """The same preview whatever TZ the host runs in (a fresh interpreter for each)."""
    from scheduler.store.db import open_store

    def plan_under(zone: str, name: str) -> str:
        url = f"sqlite:///{tmp_path / name}.db"
        open_store(url).dispose()  # as the service's first start leaves it
        env = dict(os.environ, TZ=zone, BAOCAO_DATABASE_URL=url, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
        # The clock pinned (before the range, so the preview does not depend on the day it runs).
        out = subprocess.run([sys.executable, "tests/run_frozen.py", "2026-07-20T10:00:00+07:00", "plan", "--from",
                              "2026-08-01", "--to", "2026-12-31", "--json"], cwd=ROOT, env=env, capture_output=True,
                             text=True, check=True)
        return out.stdout

    reference = plan_under("Asia/Ho_Chi_Minh", "ref")
    assert plan_under(tz, "other") == reference
    assert '"at": "2026-11-20T08:00:00+07:00"' in reference


def test_status_works_after_the_report_mail_and_with_failed_and_waiting_sends(smtp_server, make_service, db_url):
    """The day after the deadline, when the office chases late units, the period has its report
    mail, overdue mail and digests; one unit's address bounces."""
    from tests.conftest import tick_at

    smtp_server.recorder.refuse["kiemlam.daumoi@example.org"] = "550 5.1.1 Hộp thư không tồn tại"
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-04T08:00:00+07:00")
    tick_at(service, "2026-12-07T08:00:00+07:00")
    assert any(m["X-Baocao-Step"] == "report-v1" for m in smtp_server.recorder.take())
    result = run(["status", "--period", "2026-Q4"], db_url)
    assert result.exit_code == 0, result.output
    assert "  VP       Báo cáo tổng hợp (report-v1): đã gửi" in result.output
    assert "  VP       Tổng hợp cho VP (digest+1): đã gửi" in result.output
    assert "- Nhắc hạn (reminder-1): LỖI, 1 lần thử — máy chủ từ chối người nhận: kiemlam.daumoi@example.org: 550" \
        in result.output
    # the head in copy accepted the overdue mail; the bounce stays visible
    assert "- Quá hạn (overdue+1): đã gửi, 1 lần thử — một số người nhận bị từ chối: kiemlam.daumoi@example.org: 550" \
        in result.output
    result = run(["status", "--period", "2026-Q4", "--json"], db_url)
    assert result.exit_code == 0, result.output
    office = {d["step"]: d for d in json.loads(result.output)["digests"]}
    assert office["report-v1"]["status"] == "sent" and office["report-v1"]["kind"] == "report"


@pytest.mark.parametrize("args", [
    ["report", "--period", "2026-Q4", "-o", "{missing}/bao-cao.docx"],
    ["template", "--period", "2026-Q4", "-o", "{missing}/mau.xlsx"],
    ["export", "--period", "2026-Q4", "-o", "{missing}/so-lieu.xlsx"],
])
def test_output_into_a_missing_folder_is_a_message_not_a_traceback(db_url, tmp_path, args):
    args = [a.replace("{missing}", str(tmp_path / "khong-co")) for a in args]
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG),
           "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"), "BAOCAO_SECRET_KEY_FILE": str(tmp_path / "secret_key")}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output
    assert f"không có thư mục {tmp_path / 'khong-co'}" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_status_shows_the_report_versions_and_a_report_that_could_not_be_made(smtp_server, make_service, db_url,
                                                                               tmp_path):
    """The office learns from `status`, not only from the journal, that its report is missing and
    why; `remind` exits 1 then, so a cron job notices too."""
    from tests.conftest import tick_at
    from tests.conftest import templates_with

    broken = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-04T08:00:00+07:00")
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG), "BAOCAO_TEMPLATES_DIR": str(broken),
           "BAOCAO_SMTP_HOST": "127.0.0.1", "BAOCAO_SMTP_PORT": str(smtp_server.port), "BAOCAO_SMTP_SECURITY": "none"}
    with freeze_time("2026-12-07T08:00:05+07:00", real_asyncio=True):
        result = CliRunner().invoke(cli, ["remind"], env=env)
    assert result.exit_code == 1, result.output
    assert "Lỗi: không lập được báo cáo tổng hợp kỳ 2026-Q4:" in result.output and "titel" in result.output
    with freeze_time("2026-12-07T09:00:00+07:00"):
        status = run(["status", "--period", "2026-Q4"], db_url)
        as_json = json.loads(run(["status", "--period", "2026-Q4", "--json"], db_url).output)
    assert "  LỖI lập báo cáo tổng hợp lúc 08:00 Thứ Hai 07/12/2026:" in status.output, status.output
    assert "titel" in as_json["report_error"]["message"] and as_json["reports"] == []

    env["BAOCAO_TEMPLATES_DIR"] = str(ROOT / "templates")  # the office puts the template right
    with freeze_time("2026-12-07T09:05:00+07:00", real_asyncio=True):
        result = CliRunner().invoke(cli, ["remind"], env=env)
    assert result.exit_code == 0, result.output
    with freeze_time("2026-12-07T09:10:00+07:00"):
        status = run(["status", "--period", "2026-Q4"], db_url)
        as_json = json.loads(run(["status", "--period", "2026-Q4", "--json"], db_url).output)
    assert "LỖI lập báo cáo" not in status.output
    assert "  Báo cáo tổng hợp bản 1: lập lúc 09:05 Thứ Hai 07/12/2026, đã gửi Văn phòng lúc 09:05 Thứ Hai 07/12/2026" \
        in status.output, status.output
    assert as_json["report_error"] is None and [r["version"] for r in as_json["reports"]] == [1]


def test_status_shows_overdue_mail_held_by_the_first_start_and_how_to_release_it(make_service, db_url):
    from tests.conftest import tick_at

    service = make_service()  # outbox: dry run
    report = tick_at(service, "2026-12-07T08:00:00+07:00")  # the very first start is after the deadline
    assert report.held > 0
    with freeze_time("2026-12-07T09:00:00+07:00"):
        status = run(["status", "--period", "2026-Q4"], db_url)
        held = json.loads(run(["status", "--period", "2026-Q4", "--json"], db_url).output)["held"]
    assert (f"  Giữ lại {report.held} thư báo quá hạn (") in status.output, status.output
    assert "Nếu hôm nay đúng là 07/12/2026, chạy: baocao confirm-clock 07/12/2026" in status.output
    assert len(held) == report.held and {h["kind"] for h in held} == {"overdue"}
    with freeze_time("2026-12-07T09:01:00+07:00"):
        assert run(["confirm-clock", "07/12/2026"], db_url).exit_code == 0
        status = run(["status", "--period", "2026-Q4"], db_url)
    assert "Giữ lại" not in status.output


def test_status_works_in_every_state_of_a_period_human_and_json(smtp_server, make_service, db_url):
    """From a store that never ticked to a closed period with its report mailed, and an on-request
    report: `status` answers in each, and its JSON says the same as its text."""
    from tests.conftest import Q4_2026_DEADLINE, tick_at
    from tests.conftest import full, store_return as submit

    service = make_service(smtp_server.port)

    def both(moment: str, period: str = "2026-Q4") -> tuple[str, dict]:
        with freeze_time(moment):
            human = run(["status", "--period", period], db_url)
            machine = run(["status", "--period", period, "--json"], db_url)
        assert human.exit_code == 0 and machine.exit_code == 0, human.output + machine.output
        return human.output, json.loads(machine.output)

    text, data = both("2026-11-19T09:00:00+07:00")  # nothing sent yet
    assert "Chưa nộp: 18 / 18 đơn vị" in text and all(u["sends"] == [] for u in data["units"])
    tick_at(service, "2026-11-20T08:00:00+07:00")  # the notices
    text, data = both("2026-11-20T09:00:00+07:00")
    assert "- Thông báo (notice-10): đã gửi" in text and {u["sends"][0]["status"] for u in data["units"]} == {"sent"}
    submit(service, "BPMC", Q4_2026_DEADLINE.replace(day=3), full())
    text, data = both("2026-12-03T09:00:00+07:00")
    assert "BPMC     Bộ phận Một cửa của Sở: Đã nộp đúng hạn lúc" in text
    assert next(u for u in data["units"] if u["unit"] == "BPMC")["state"] == "on_time"
    text, data = both("2026-12-05T09:00:00+07:00")  # deadline passed, no tick since: no report yet
    assert "Báo cáo tổng hợp: chưa lập" in text and data["reports"] == []
    tick_at(service, "2026-12-07T08:00:00+07:00")
    text, data = both("2026-12-07T09:00:00+07:00")
    assert "Báo cáo tổng hợp bản 1: lập lúc 08:00 Thứ Hai 07/12/2026, đã gửi Văn phòng" in text
    assert data["reports"][0]["mailed_at"].startswith("2026-12-07T08:00")
    with freeze_time("2026-12-08T09:00:00+07:00"):
        assert run(["close", "--period", "2026-Q4"], db_url).exit_code == 0
    text, data = both("2026-12-08T09:05:00+07:00")
    assert "Báo cáo tổng hợp bản 1" in text and len(data["units"]) == 18
    with freeze_time("2026-12-08T09:10:00+07:00"):
        opened = run(["request", "--title", "Báo cáo đột xuất về rét đậm", "--deadline", "20/12/2026",
                      "--units", "KL,TTBVTV"], db_url)
    key = opened.output.split("báo cáo đột xuất ")[1].split(":")[0]
    text, data = both("2026-12-08T09:15:00+07:00", key)
    assert "Chưa nộp: 2 / 2 đơn vị" in text and {u["unit"] for u in data["units"]} == {"KL", "TTBVTV"}


def test_a_request_tells_its_units_at_once_and_plan_shows_no_second_notice(db_url):
    # Its notice step (10 working days before 20/12) is 07/12: a week of silence after the office
    # asked, were the notice left to its day.
    with freeze_time("2026-12-01T20:15:00+07:00"):
        opened = run(["request", "--title", "Báo cáo nhanh", "--deadline", "20/12/2026"], db_url)
        planned = json.loads(run(["plan", "--from", "01/12/2026", "--to", "20/12/2026", "--json"], db_url).output)
    key = opened.output.split("báo cáo đột xuất ")[1].split(":")[0]
    assert "Đã gửi thư thông báo tới 18 đơn vị (ghi vào " in opened.output, opened.output
    assert [p["kind"] for p in planned if p["period"] == key and p["kind"] == "notice"] == []
    assert min(p["at"] for p in planned if p["period"] == key) > "2026-12-07"  # the reminders, on their days


def test_status_of_a_period_past_the_report_window_says_how_to_make_its_report(db_url):
    with freeze_time("2026-12-01T09:00:00+07:00"):
        result = run(["status", "--period", "2026-Q3"], db_url)
    assert ("  Báo cáo tổng hợp: chưa lập; đã quá 30 ngày sau hạn nên dịch vụ không tự lập. Lập bằng lệnh: "
            "baocao report --period 2026-Q3") in result.output


def test_remind_with_real_smtp_warns_when_links_lead_to_this_machine_only(db_url, smtp_server):
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG), "BAOCAO_SMTP_HOST": "127.0.0.1",
           "BAOCAO_SMTP_PORT": str(smtp_server.port), "BAOCAO_SMTP_SECURITY": "none"}
    with freeze_time("2026-12-02T08:00:10+07:00", real_asyncio=True):
        result = CliRunner().invoke(cli, ["remind"], env=env)
    assert result.exit_code == 0, result.output
    assert ("Cảnh báo: Đường dẫn trong thư dẫn tới http://127.0.0.1:8080: chỉ mở được trên chính máy này, đơn vị sẽ "
            "không mở được. Đặt BAOCAO_PUBLIC_URL") in result.output
