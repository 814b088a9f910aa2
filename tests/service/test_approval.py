"""Approval by the unit head (plan key `approval: head`), end to end: the unit submits through
the real form over HTTP, the head's mail arrives at the real SMTP server with a link of its own,
the unit stays unreported (and reminded, worded as waiting for the head) until the head approves
from that link; a return goes to the focal points with the head's comment. Real SQLite, and the
store's rules on PostgreSQL too."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from scheduler.clock import TZ
from scheduler.store.tables import AuditRow, Review, SendRow
from tests.conftest import SHIPPED_CONFIG, edit, line_of, open_form, stored, valid_form

BEFORE_REMINDER = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # Q4 due 05/12; reminder-3 is 02/12 08:00
REMINDER_3 = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)
REMINDER_1 = datetime(2026, 12, 4, 9, 0, tzinfo=TZ)


def approval_config(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "config-duyet"
    shutil.copytree(SHIPPED_CONFIG, target, ignore=shutil.ignore_patterns("examples"))
    edit(target / "plan.yaml", "\nobligations:", "\napproval: head\nobligations:")
    return target


@pytest.fixture
def approving(tmp_path, web_at, monkeypatch):
    """The web app and service on the shipped config with `approval: head`, the approval router
    included (app.create_app registers it once the lead adds it; until then, here)."""
    import scheduler.web as web_pkg
    from scheduler.web import approval
    from scheduler.web.context import Pages
    from scheduler.web.security import Csrf

    made = web_pkg.create_app

    def create_app(ctx):
        app = made(ctx)
        if not any(getattr(route, "path", "") == "/duyet/{token}" for route in app.routes):
            secret = ctx.settings.secret()
            app.include_router(approval.router(ctx, Pages(ctx), Csrf(secret, ctx.settings.public_url.startswith("https"))))
        return app

    monkeypatch.setattr(web_pkg, "create_app", create_app)
    return web_at(approval_config(tmp_path), BEFORE_REMINDER)


def mails(smtp_server, *steps: str, timeout: float = 10.0) -> dict[str, object]:
    """Wait until a mail of each step has arrived (the web's loop sends them soon after the
    submission), then take everything received: step → message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(steps) <= {m["X-Baocao-Step"] for m in smtp_server.recorder.messages}:
            break
        time.sleep(0.05)
    taken = {m["X-Baocao-Step"]: m for m in smtp_server.recorder.take()}
    missing = set(steps) - set(taken)
    assert not missing, f"no mail for {missing}; got {sorted(taken)}"
    return taken


def to(message) -> set[str]:
    return {a.addr_spec for a in message["To"].addresses}


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def submit(web, unit: str, **overrides) -> None:
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link(unit))
        sent = client.post(web.link(unit), data=valid_form(csrf=csrf, **overrides))
    assert sent.status_code == 303, sent.text


def head_link(message) -> str:
    return re.search(r"http://127\.0\.0\.1:\d+(/duyet/[\w-]+)", text(message)).group(1)


def standing(web, code: str):
    from scheduler.collect import record

    with Session(web.service.engine) as session:
        period = web.service.config.period("2026-Q4")
        return next(s for s in record.standings(session, web.service.config, period) if s.code == code)


def reported(web) -> set[tuple[str, str]]:
    from scheduler.store import db

    with Session(web.service.engine) as session:
        return db.reported_pairs(session)


def quiet(web, timeout: float = 10.0) -> None:
    """Wait for the deliveries a submission or a decision started on the web's own event loop
    (service.deliver_soon): a tick run from the test's loop must not contend for the service's
    lock with them."""
    deadline = time.monotonic() + timeout
    while web.service._background and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not web.service._background, "the web's deliveries did not finish"


def tick(web, now: datetime):
    quiet(web)
    web.clock.now = now
    return asyncio.run(web.service.tick())


def test_a_report_counts_only_once_the_head_approves_it_from_the_mailed_link(approving, smtp_server):
    web = approving
    submit(web, "BPMC")
    got = mails(smtp_server, "approval#1", "receipt#1")
    head_mail, receipt = got["approval#1"], got["receipt#1"]
    assert to(head_mail) == {"bpmc.truongdonvi@example.org"}
    assert "bpmc.daumoi@example.org" in to(receipt) and "Thủ trưởng đơn vị để duyệt" in text(receipt)
    link = head_link(head_mail)
    # Sent, not reported: the head has not approved it.
    assert ("2026-Q4", "BPMC") not in reported(web)
    state = standing(web, "BPMC")
    assert (state.state, state.history, state.awaiting.revision, state.returned) == ("missing", [], 1, None)

    tick(web, REMINDER_3)  # the next reminder still goes to the unit, saying what it waits for
    reminder = [m for m in smtp_server.recorder.take() if "bpmc.daumoi@example.org" in to(m)]
    assert [m["X-Baocao-Step"] for m in reminder] == ["reminder-3"]
    assert "chờ Thủ trưởng duyệt" in text(reminder[0])

    # The head's link opens the approval page only; the unit's link is no approval link.
    with httpx.Client(base_url=web.base) as unit_client:
        assert unit_client.get(link.replace("/duyet/", "/f/")).status_code == 404
        assert unit_client.get(web.link("BPMC").replace("/f/", "/duyet/")).status_code == 404
    with httpx.Client(base_url=web.base) as head:
        page = head.get(link)
        assert page.status_code == 200
        assert "Duyệt báo cáo" in page.text and "Trả lại để sửa" in page.text
        assert "Bộ phận Một cửa của Sở" in page.text and "930 / 930" in page.text  # the figures, read-only
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        refused = head.post(link, data={"quyet_dinh": "duyet", "ban": "1"})
        assert refused.status_code == 403
        assert ("2026-Q4", "BPMC") not in reported(web)
        # A double click is one decision.
        first = head.post(link, data={"csrf": csrf, "quyet_dinh": "duyet", "ban": "1"}, follow_redirects=False)
        second = head.post(link, data={"csrf": csrf, "quyet_dinh": "duyet", "ban": "1"}, follow_redirects=False)
        assert first.status_code == second.status_code == 303
        shown = head.get(first.headers["location"])
        assert "Đã duyệt" in shown.text and "Duyệt báo cáo</button>" not in shown.text
    with Session(web.service.engine) as session:
        reviews = session.exec(select(Review)).all()
        audit = session.exec(select(AuditRow)).all()
    assert [(r.role, r.decision, r.revision, r.actor) for r in reviews] == [
        ("head", "approved", 1, "Thủ trưởng Trần Văn Hùng")]
    assert [(a.actor, a.action, a.unit_code) for a in audit] == [("Thủ trưởng Trần Văn Hùng", "duyet", "BPMC")]

    assert ("2026-Q4", "BPMC") in reported(web)
    state = standing(web, "BPMC")
    assert (state.state, [s.revision for s in state.history], state.awaiting) == ("on_time", [1], None)
    tick(web, REMINDER_1)  # reported now: no more reminders
    later = smtp_server.recorder.take()
    assert later and not [m for m in later if "bpmc.daumoi@example.org" in to(m)]


def test_the_heads_return_goes_to_the_focal_points_and_shows_until_a_new_revision(approving, smtp_server):
    web = approving
    submit(web, "TTRA")
    link = head_link(mails(smtp_server, "approval#1")["approval#1"])
    with httpx.Client(base_url=web.base) as head:
        page = head.get(link)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        bare = head.post(link, data={"csrf": csrf, "quyet_dinh": "tra-lai", "ban": "1", "comment": "  "})
        assert bare.status_code == 422 and "Ghi ý kiến cần sửa" in bare.text
        back = head.post(link, data={"csrf": csrf, "quyet_dinh": "tra-lai", "ban": "1",
                                     "comment": "Số liệu số hoá chưa khớp sổ theo dõi; đề nghị rà soát lại."},
                         follow_redirects=True)
        assert back.status_code == 200 and "Đã trả lại để sửa" in back.text
    returned = mails(smtp_server, "return#1")["return#1"]
    assert "thanhtra.daumoi@example.org" in to(returned)
    assert "Số liệu số hoá chưa khớp sổ theo dõi" in text(returned)
    state = standing(web, "TTRA")
    assert (state.state, state.awaiting, state.returned.role, state.returned.revision) == ("missing", None, "head", 1)
    assert ("2026-Q4", "TTRA") not in reported(web)

    submit(web, "TTRA", h__so_hoa="Số hoá: đã rà soát lại theo sổ theo dõi.")  # the correction: a new revision, asked of the head again
    mails(smtp_server, "approval#2")
    state = standing(web, "TTRA")
    assert (state.state, state.awaiting.revision, state.returned) == ("missing", 2, None)
    # A page opened on revision 1 cannot decide revision 2 unseen.
    with httpx.Client(base_url=web.base) as head:
        page = head.get(link)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        stale = head.post(link, data={"csrf": csrf, "quyet_dinh": "duyet", "ban": "1"})
        assert stale.status_code == 409 and "bản mới hơn" in stale.text
    assert [s.revision for s in stored(web, "TTRA")] == [1, 2]
    with Session(web.service.engine) as session:
        assert session.exec(select(Review).where(Review.revision == 2)).all() == []


def test_approval_mails_are_no_reminder_step(approving, smtp_server):
    """The head's mail sits in the ledger under the unit's code: it must neither stand for a
    reminder step nor be cancelled by one."""
    web = approving
    submit(web, "KHTC")
    mails(smtp_server, "approval#1")
    tick(web, REMINDER_3)
    with Session(web.service.engine) as session:
        rows = {(r.step, r.status) for r in session.exec(select(SendRow).where(SendRow.audience == "KHTC")).all()}
    assert rows == {("receipt#1", "sent"), ("approval#1", "sent"), ("reminder-3", "sent")}


# ---------------------------------------------------------------- the store's rules, both backends

def test_office_entry_counts_as_approved_and_a_decision_is_taken_once(any_db_url, tmp_path):
    from scheduler.collect import record
    from scheduler.collect.validate import Report
    from scheduler.config.load import load_config
    from scheduler.store import db, reviews

    config = load_config(approval_config(tmp_path))
    engine = db.open_store(any_db_url)
    period, now = config.period("2026-Q4"), BEFORE_REMINDER
    report = Report({"so_hoa": {"num": 1, "den": 2}}, {}, "Người gửi")
    try:
        with Session(engine) as session:
            db.sync_config(session, config, now)
            record.record(session, config, period, config.unit("BPMC"), report, "form", now)
            record.record(session, config, period, config.unit("TTRA"), report, "office", now, actor="vanphong")
            session.commit()
            assert db.reported_pairs(session) == {("2026-Q4", "TTRA")}
            assert reviews.awaiting(session, "2026-Q4", "BPMC").revision == 1
            steps = {(r.audience, r.kind) for r in session.exec(select(SendRow)).all()}
            assert steps == {("BPMC", "receipt"), ("BPMC", "approval"), ("TTRA", "receipt")}
            office = session.exec(select(Review).where(Review.unit_code == "TTRA")).one()
            assert (office.role, office.decision, office.actor) == ("office", "approved", "vanphong")

            unit = config.unit("BPMC")
            assert reviews.decide(session, period, unit, 1, "head", "returned", "Thủ trưởng X", now, comment="Sửa")
            assert not reviews.decide(session, period, unit, 1, "head", "approved", "Thủ trưởng X", now)
            session.commit()
            facts = db.load_facts(session, config, now)
            assert ("2026-Q4", "BPMC") not in facts.reported and ("2026-Q4", "BPMC") not in facts.reached
            assert [r.decision for r in session.exec(select(Review).where(Review.unit_code == "BPMC")).all()] == ["returned"]
            assert session.exec(select(SendRow).where(SendRow.step == "return#1")).one().to_addrs == [
                p.email for p in unit.focal_points]
    finally:
        engine.dispose()


def test_approval_off_changes_nothing(db_url, shipped_config):
    from scheduler.collect import record
    from scheduler.collect.validate import Report
    from scheduler.store import db

    engine = db.open_store(db_url)
    period = shipped_config.period("2026-Q4")
    with Session(engine) as session:
        db.sync_config(session, shipped_config, BEFORE_REMINDER)
        record.record(session, shipped_config, period, shipped_config.unit("BPMC"),
                      Report({}, {}, "Người gửi"), "form", BEFORE_REMINDER)
        session.commit()
        assert db.reported_pairs(session) == {("2026-Q4", "BPMC")}
        assert [r.kind for r in session.exec(select(SendRow)).all()] == ["receipt"]
        assert session.exec(select(Review)).all() == []
    engine.dispose()


# ---------------------------------------------------------------- the config key

def test_the_key_is_checked_at_its_line_and_reaches_every_plan(tmp_path):
    from scheduler.config.load import load_config
    from scheduler.config.source import ConfigError

    config_dir = approval_config(tmp_path)
    assert {o.approval for o in load_config(config_dir).plan.obligations} == {"head"}
    edit(config_dir / "plan.yaml", "approval: head", "approval: truong_don_vi")
    with pytest.raises(ConfigError) as bad:
        load_config(config_dir)
    line = line_of(config_dir / "plan.yaml", "approval:")
    assert [str(i) for i in bad.value.issues] == [
        f"{config_dir / 'plan.yaml'}:{line}: approval: 'truong_don_vi' không hợp lệ: dùng head (Thủ trưởng đơn vị "
        "duyệt trước khi báo cáo được tính là đã nộp), hoặc bỏ khoá approval (không cần duyệt)"]

    import shutil
    two = tmp_path / "hai"
    shutil.copytree(SHIPPED_CONFIG / "examples" / "000-003-hai-ke-hoach", two)
    plan_file = next((two / "plans").glob("*.yaml"))
    plan_file.write_text("approval: head\n" + plan_file.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(two)
    prefix = plan_file.stem + "."
    assert {o.id: o.approval for o in config.plan.obligations} == {
        o.id: ("head" if o.id.startswith(prefix) else None) for o in config.plan.obligations}


def test_the_consolidated_report_uses_only_approved_revisions(approving, smtp_server):
    from scheduler.report import versions

    web = approving
    submit(web, "BPMC")
    link = head_link(mails(smtp_server, "approval#1")["approval#1"])

    def consolidated():
        with Session(web.service.engine) as session:
            result = versions.consolidation(session, web.service.config, web.service.config.period("2026-Q4"))
        return [u.code for u in result.missing], result.sources

    missing, sources = consolidated()
    assert "BPMC" in missing and "BPMC" not in sources  # sent, not approved: not in the report's figures
    with httpx.Client(base_url=web.base) as head:
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', head.get(link).text).group(1)
        assert head.post(link, data={"csrf": csrf, "quyet_dinh": "duyet", "ban": "1"}).status_code in (200, 303)
    missing, sources = consolidated()
    assert "BPMC" not in missing and sources["BPMC"] == 1
