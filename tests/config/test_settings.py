"""BAOCAO_* settings are checked when they are read: a bad value stops the command before the
database is opened, with a Vietnamese line naming the variable (issue 9: a short secret key
used to fail all 18 sends of the round for good)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.settings import SettingsError, load_settings
from tests.conftest import ROOT

MOMENT = "2026-11-27T10:00:00+07:00"  # the shipped config owes 18 notices for 2026-Q4 then
GOOD_KEY = "k" * 40
HEADER = "Thiết lập có 1 lỗi (biến môi trường BAOCAO_…), cần sửa trước khi chạy:"


def baocao(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`baocao ARGS` in a child process, its clock pinned at MOMENT; stdout and stderr together."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / "run_frozen.py"), MOMENT, *args], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def env(tmp_path, config_dir) -> dict[str, str]:
    """A child's environment as an admin would set it, with no BAOCAO_* leaking in from ours."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    return clean | {
        "PYTHONUNBUFFERED": "1", "BAOCAO_DATABASE_URL": f"sqlite:///{tmp_path / 'baocao.db'}",
        "BAOCAO_CONFIG_DIR": str(config_dir), "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"),
        "BAOCAO_OUTBOX_DIR": str(tmp_path / "outbox"), "BAOCAO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "BAOCAO_HTTP_PORT": "0",
    }


def send_rows(tmp_path: Path) -> list[tuple[str, str]]:
    db = tmp_path / "baocao.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT step, status FROM send").fetchall()


def assert_stopped_before_anything(result: subprocess.CompletedProcess, tmp_path: Path, variable: str) -> None:
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout
    assert HEADER in result.stdout
    assert f"  {variable}: " in result.stdout
    assert not (tmp_path / "baocao.db").exists()  # not even opened
    assert not list((tmp_path / "outbox").glob("*.eml"))
    assert not (tmp_path / "secret_key").exists()


def test_a_too_short_secret_key_stops_remind_before_any_send_and_the_fixed_key_sends_all_18(
        tmp_path, env, smtp_server):
    env |= {"BAOCAO_SMTP_HOST": "127.0.0.1", "BAOCAO_SMTP_PORT": str(smtp_server.port),
            "BAOCAO_SMTP_SECURITY": "none"}

    bad = baocao(["remind"], env | {"BAOCAO_SECRET_KEY": "too-short"})
    assert_stopped_before_anything(bad, tmp_path, "BAOCAO_SECRET_KEY")
    assert "BAOCAO_SECRET_KEY: phải dài ít nhất 32 ký tự (hiện có 9)" in bad.stdout
    assert "too-short" not in bad.stdout  # a key is never echoed
    assert send_rows(tmp_path) == [] and smtp_server.recorder.messages == []

    from scheduler.store.db import open_store

    open_store(env["BAOCAO_DATABASE_URL"]).dispose()  # the service's first start, which only `run` makes
    good = baocao(["remind"], env | {"BAOCAO_SECRET_KEY": GOOD_KEY})
    assert good.returncode == 0, good.stdout
    assert "Traceback" not in good.stdout
    assert len(smtp_server.recorder.messages) == 18
    assert {m["Subject"] for m in smtp_server.recorder.messages} == {
        "[Thông báo kỳ báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026"}
    rows = send_rows(tmp_path)
    assert len(rows) == 18 and {status for _, status in rows} == {"sent"}


def test_a_too_short_key_file_stops_remind_and_says_how_to_fix_it(tmp_path, env):
    key_file = tmp_path / "short_key"
    key_file.write_text("abc\n", encoding="utf-8")
    result = baocao(["remind"], env | {"BAOCAO_SECRET_KEY_FILE": str(key_file)})
    assert result.returncode == 1 and "Traceback" not in result.stdout
    assert (f"BAOCAO_SECRET_KEY_FILE: khoá trong tệp {key_file} phải dài ít nhất 32 ký tự (hiện có 3); "
            "thay bằng khoá dài hơn hoặc xoá tệp") in result.stdout
    assert not (tmp_path / "baocao.db").exists()


# One bad value each: (variable, value, what the admin reads after "VARIABLE: ").
# "{tmp}" stands for the test's scratch folder.
INVALID = [
    ("BAOCAO_SMTP_PORT", "abc", "'abc' không phải số nguyên"),
    ("BAOCAO_SMTP_PORT", "0", "phải từ 1 đến 65535 (hiện là 0)"),
    ("BAOCAO_HTTP_PORT", "70000", "phải từ 0 đến 65535 (hiện là 70000)"),
    ("BAOCAO_SMTP_SECURITY", "ssl", "'ssl' không hợp lệ; chọn một trong: none, starttls, tls"),
    ("BAOCAO_OUTBOX_DIR", "{tmp}/config/units.yaml", "{tmp}/config/units.yaml không phải thư mục"),
    ("BAOCAO_OUTBOX_DIR", "{tmp}/config/units.yaml/outbox", "{tmp}/config/units.yaml không phải thư mục"),
    ("BAOCAO_SMTP_TIMEOUT", "0", "phải lớn hơn 0 (hiện là 0)"),
    ("BAOCAO_SMTP_TIMEOUT", "ba mươi", "'ba mươi' không phải số"),
    ("BAOCAO_SMTP_CONNECTIONS", "50", "phải từ 1 đến 10 (hiện là 50)"),
    ("BAOCAO_SMTP_ATTEMPTS", "0", "phải từ 1 đến 10 (hiện là 0)"),
    ("BAOCAO_SMTP_RETRY_BASE", "-1", "phải từ 0 trở lên (hiện là -1)"),
    ("BAOCAO_RETRY_MINUTES", "0", "phải từ 1 trở lên (hiện là 0)"),
    ("BAOCAO_MAIL_FROM", "baocao.example.org", "'baocao.example.org' không phải địa chỉ email hợp lệ"),
    ("BAOCAO_MAIL_FROM", "Văn phòng Sở <baocao@example.org>",
     "'Văn phòng Sở <baocao@example.org>': chỉ ghi địa chỉ email, không kèm tên hiển thị"),
    ("BAOCAO_PUBLIC_URL", "baocao.example.gov.vn", "phải bắt đầu bằng http:// hoặc https:// và có tên máy chủ"),
    ("BAOCAO_PUBLIC_URL", "https://", "phải bắt đầu bằng http:// hoặc https:// và có tên máy chủ"),
    ("BAOCAO_LOG_LEVEL", "verbose", "'verbose' không hợp lệ; chọn một trong: DEBUG, INFO, WARNING, ERROR"),
    ("BAOCAO_DATABASE_URL", "baocao.db", "không đọc được URL cơ sở dữ liệu"),
    ("BAOCAO_DATABASE_URL", "mysql://baocao:mk@db/baocao", "'mysql://baocao:***@db/baocao': chỉ hỗ trợ sqlite hoặc postgresql"),
    ("BAOCAO_DATABASE_URL", "postgresql+psycopg2://baocao@db/baocao", "chưa cài trình điều khiển 'psycopg2'"),
    ("BAOCAO_SMTP_PASSWORD_FILE", "{tmp}/smtp_password", "tệp {tmp}/smtp_password không tồn tại"),
    ("BAOCAO_SMTP_CA_FILE", "{tmp}/missing-ca.pem", "tệp {tmp}/missing-ca.pem không tồn tại"),
    ("BAOCAO_SMTP_CA_FILE", "{tmp}/config/units.yaml", "không chứa chứng thư CA dạng PEM mà ssl đọc được"),
    ("BAOCAO_SMTP_HOST", "smtp://mail.example.org", "'smtp://mail.example.org' là một URL; chỉ ghi tên máy chủ, ví dụ mail.example.org"),
    ("BAOCAO_SMTP_HOST", "mail.example.org:587", "có kèm cổng"),
    ("BAOCAO_SMTP_USERNAME", "vanphong", "đã đặt tên đăng nhập nhưng thiếu mật khẩu"),
    ("BAOCAO_SMTP_PASSWORD", "mat-khau-smtp", "đã có mật khẩu SMTP nhưng thiếu tên đăng nhập BAOCAO_SMTP_USERNAME"),
    ("BAOCAO_HTTP_HOST", "http://0.0.0.0", "là một URL"),
    ("BAOCAO_OFFICE_USER", "   ", "không được để trống"),
    ("BAOCAO_OFFICE_PASSWORD_HASH", "mat-khau-van-phong", "không phải mã băm argon2"),
    ("BAOCAO_FORWARDED_ALLOW_IPS", "127.0.0.1, nginx", "'nginx' không phải địa chỉ IP hay dải mạng hợp lệ"),
    ("BAOCAO_FORWARDED_ALLOW_IPS", "10.0.0.1/8", "'10.0.0.1/8' không phải địa chỉ IP hay dải mạng hợp lệ"),
    ("BAOCAO_SECRET_KEY_FILE", "{tmp}/config/plan.yaml/key", "không tạo được"),
]


@pytest.mark.parametrize(("variable", "value", "expected"), INVALID,
                         ids=[f"{v}={value}" for v, value, _ in INVALID])
def test_an_invalid_setting_stops_remind_naming_the_variable_before_anything_is_claimed(
        tmp_path, env, variable, value, expected):
    value, expected = value.replace("{tmp}", str(tmp_path)), expected.replace("{tmp}", str(tmp_path))
    result = baocao(["remind"], env | {variable: value})
    assert_stopped_before_anything(result, tmp_path, variable)
    [line] = [line for line in result.stdout.splitlines() if line.startswith(f"  {variable}: ")]
    assert expected in line
    if variable in ("BAOCAO_SMTP_PASSWORD", "BAOCAO_OFFICE_PASSWORD_HASH"):
        assert value not in result.stdout  # secrets are never echoed


@pytest.mark.parametrize("args", [
    ["run"], ["status", "--period", "2026-Q4"], ["plan", "--from", "2026-11-01", "--to", "2026-11-30"],
    ["submit", "--unit", "TTRA", "--period", "2026-Q4", "{tmp}/config/units.yaml"],
    ["report", "--period", "2026-Q4"], ["check-config"],
], ids=lambda args: args[0])
def test_every_command_refuses_bad_settings_before_opening_the_database(tmp_path, env, args):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = baocao(args, env | {"BAOCAO_SECRET_KEY": "too-short"})
    assert_stopped_before_anything(result, tmp_path, "BAOCAO_SECRET_KEY")


def test_all_bad_settings_are_reported_at_once(tmp_path, env):
    result = baocao(["remind"], env | {"BAOCAO_SECRET_KEY": "too-short", "BAOCAO_SMTP_PORT": "abc",
                                       "BAOCAO_SMTP_SECURITY": "ssl"})
    assert result.returncode == 1 and "Traceback" not in result.stdout
    assert "Thiết lập có 3 lỗi (biến môi trường BAOCAO_…), cần sửa trước khi chạy:" in result.stdout
    for line in ("BAOCAO_SECRET_KEY: phải dài ít nhất 32 ký tự (hiện có 9)",
                 "BAOCAO_SMTP_PORT: 'abc' không phải số nguyên",
                 "BAOCAO_SMTP_SECURITY: 'ssl' không hợp lệ; chọn một trong: none, starttls, tls"):
        assert f"  {line}" in result.stdout
    assert not (tmp_path / "baocao.db").exists()


def test_hash_password_still_works_with_a_bad_office_password_hash(tmp_path, env):
    # It is how the admin makes the value that fixes BAOCAO_OFFICE_PASSWORD_HASH.
    result = subprocess.run([sys.executable, "-m", "scheduler", "hash-password"], cwd=ROOT, text=True,
                            env=env | {"BAOCAO_OFFICE_PASSWORD_HASH": "mat-khau-van-phong"},
                            input="mật khẩu Văn phòng 2026\nmật khẩu Văn phòng 2026\n",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert result.returncode == 0, result.stdout
    assert "$argon2id$" in result.stdout
    assert "Thiết lập có" not in result.stdout
    assert "Warning" not in result.stdout and "mật khẩu Văn phòng 2026" not in result.stdout  # piped: no English


# ---------------------------------------------------------------- load_settings itself


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("BAOCAO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BAOCAO_SECRET_KEY_FILE", str(tmp_path / "secret_key"))
    monkeypatch.setenv("BAOCAO_DATABASE_URL", f"sqlite:///{tmp_path / 'baocao.db'}")


def test_load_settings_lists_every_issue_in_field_order(no_env, monkeypatch):
    monkeypatch.setenv("BAOCAO_SMTP_PORT", "abc")
    monkeypatch.setenv("BAOCAO_SMTP_CONNECTIONS", "0")
    monkeypatch.setenv("BAOCAO_SECRET_KEY", "too-short")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.issues == [
        "BAOCAO_SMTP_PORT: 'abc' không phải số nguyên",
        "BAOCAO_SMTP_CONNECTIONS: phải từ 1 đến 10 (hiện là 0)",
        "BAOCAO_SECRET_KEY: phải dài ít nhất 32 ký tự (hiện có 9)",
    ]


def test_overrides_win_over_the_environment_and_are_checked_too(no_env, monkeypatch, tmp_path):
    monkeypatch.setenv("BAOCAO_SMTP_PORT", "abc")
    assert load_settings(smtp_port=2525).port == 2525
    with pytest.raises(SettingsError) as caught:
        load_settings(config_dir=tmp_path, smtp_port=0)
    assert caught.value.issues == ["BAOCAO_SMTP_PORT: phải từ 1 đến 65535 (hiện là 0)"]


def test_good_values_are_accepted_and_tidied(no_env, monkeypatch, tmp_path):
    password = tmp_path / "smtp_password"
    password.write_text("mat-khau\n", encoding="utf-8")
    for name, value in {"BAOCAO_LOG_LEVEL": "debug", "BAOCAO_SMTP_HOST": "mail.sở.vn", "BAOCAO_SMTP_PORT": "",
                        "BAOCAO_SMTP_USERNAME": "vanphong", "BAOCAO_SMTP_PASSWORD_FILE": str(password),
                        "BAOCAO_PUBLIC_URL": "https://baocao.example.gov.vn/so",
                        "BAOCAO_FORWARDED_ALLOW_IPS": "127.0.0.1, 10.0.0.0/24",
                        "BAOCAO_DATABASE_URL": "postgresql+psycopg://baocao@db/baocao"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.port == 587  # an empty BAOCAO_SMTP_PORT= means "not set"
    assert settings.smtp_password.get_secret_value() == "mat-khau"
    assert settings.forwarded_allow_ips == "127.0.0.1,10.0.0.0/24"


def test_the_key_file_is_created_only_when_asked_by_run_and_checked_again_when_read(no_env, tmp_path):
    settings = load_settings()
    key_file = tmp_path / "secret_key"
    with pytest.raises(SettingsError) as caught:
        settings.secret()  # any command but `run`
    assert caught.value.issues[0].startswith(f"BAOCAO_SECRET_KEY_FILE: chưa có khoá ký đường dẫn tại {key_file} ")
    assert not key_file.exists()
    key = settings.secret(create=True)
    assert len(key) >= 32 and key_file.stat().st_mode & 0o777 == 0o600
    assert settings.secret() == key  # links survive restarts

    key_file.write_text("abc", encoding="utf-8")  # damaged after start-up
    with pytest.raises(SettingsError) as caught:
        settings.secret()
    assert caught.value.issues[0].startswith(
        f"BAOCAO_SECRET_KEY_FILE: khoá trong tệp {key_file} phải dài ít nhất 32 ký tự (hiện có 3)")


def test_a_configured_key_makes_the_key_file_irrelevant(no_env, monkeypatch, tmp_path):
    (tmp_path / "secret_key").write_text("abc", encoding="utf-8")
    monkeypatch.setenv("BAOCAO_SECRET_KEY", GOOD_KEY)
    assert load_settings().secret() == GOOD_KEY.encode()


def test_links_follow_the_http_port_unless_a_public_address_is_set():
    from scheduler.settings import load_settings

    assert load_settings(http_port=9090).public_url == "http://127.0.0.1:9090"
    assert load_settings(http_host="0.0.0.0", http_port=8081).public_url == "http://127.0.0.1:8081"
    assert load_settings(http_port=9090, public_url="https://baocao.example.gov.vn").public_url == \
        "https://baocao.example.gov.vn"


def test_the_smtp_security_choice_is_taken_in_any_case():
    from scheduler.settings import load_settings

    assert load_settings(smtp_security="TLS").smtp_security == "tls"
    assert load_settings(smtp_security=" StartTLS ").smtp_security == "starttls"
