"""`baocao run` as the admin starts it: a real process, real signals, the outbox on disk."""

from __future__ import annotations

import email
import os
import signal
from email.policy import default as default_policy

from tests.conftest import ROOT, edit, Process


def test_run_without_smtp_writes_eml_files_reloads_on_hup_and_stops_on_term(tmp_path, config_dir):
    outbox = tmp_path / "outbox"
    env = dict(os.environ, PYTHONUNBUFFERED="1", BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
               BAOCAO_CONFIG_DIR=str(config_dir), BAOCAO_OUTBOX_DIR=str(outbox),
               BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=str(tmp_path / "secret"),
               BAOCAO_HTTP_PORT="0")
    env.pop("BAOCAO_SMTP_HOST", None)
    child = Process(["2026-11-27T10:00:00+07:00", "run"], env)
    try:
        child.wait_for(lambda: child.saw("Lượt nhắc 27/11/2026"), what="the start-up tick")
        files = sorted(outbox.glob("*.eml"))
        assert len(files) == 18
        assert child.saw("gửi thư vào thư mục") and child.saw("(chưa cấu hình SMTP)")
        msg = email.message_from_bytes((outbox / "2026-Q4_KL_notice-10.eml").read_bytes(), policy=default_policy)
        assert msg["Subject"] == "[Thông báo kỳ báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026"
        assert str(msg["To"]) == "Lê Văn Quyết <kiemlam.daumoi@example.org>"
        assert "Kính gửi: Chi cục Kiểm lâm" in msg.get_body(("plain",)).get_content()

        units = config_dir / "units.yaml"
        edit(units, "code: TTRA", "code: BPMC")
        child.proc.send_signal(signal.SIGHUP)
        child.wait_for(lambda: child.saw("mã đơn vị 'BPMC' trùng"), what="the reload error")
        assert child.saw("Cấu hình mới có 1 lỗi, vẫn dùng cấu hình cũ")
        assert child.proc.poll() is None  # still running on the old config

        edit(units, "code: BPMC\n    name: Thanh tra Sở", "code: TTRA\n    name: Thanh tra Sở")
        edit(units, "code: TTRA\n    name: Thanh tra Sở\n    active: true", "code: TTRA\n    name: Thanh tra Sở\n    active: false")
        child.proc.send_signal(signal.SIGHUP)
        child.wait_for(lambda: child.saw("Đã nạp lại cấu hình: 17 đơn vị đang theo dõi"), what="the reload")

        child.proc.send_signal(signal.SIGTERM)
        assert child.proc.wait(timeout=20) == 0
        assert child.saw("Đã dừng.")
        # The journal names each send in words, and carries no routine English from uvicorn.
        assert child.saw("INFO baocao.service: Đã gửi thư Thông báo (notice-10) kỳ 2026-Q4 cho KL (<")
        assert not child.saw("Uvicorn running") and not child.saw("Started server process")
        assert sorted(p.name for p in tmp_path.glob("db.sqlite*")) == ["db.sqlite"]  # closed cleanly, no -wal/-shm
    finally:
        if child.proc.poll() is None:
            child.proc.kill()
    assert not list(outbox.glob("*.tmp"))
