"""Issue 9: the same report sent twice in quick succession (a double tap, a resent POST, an
import run twice) is one revision with one receipt; two submits racing for the same revision
number, from two requests or two processes, both succeed without an error."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, select

from scheduler.collect.record import DUPLICATE_WINDOW
from scheduler.store.tables import SendRow, Submission
from scheduler.clock import TZ
from tests.conftest import BY, FIGURES, NARRATIVE, SHIPPED_CONFIG, office_run as run, open_form, stored, valid_form


def receipts_in_ledger(engine, unit: str) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(SendRow.step).where(SendRow.kind == "receipt",
                                                              SendRow.audience == unit)).all())


def wait_for_receipts(smtp_server, engine, unit: str, count: int, timeout: float = 10.0) -> list[str]:
    """The receipt steps that reached the SMTP server, once every receipt in the ledger has gone
    (so a stray extra mail would have arrived too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [m["X-Baocao-Step"] for m in smtp_server.recorder.messages if str(m["X-Baocao-Step"]).startswith("receipt")]
        with Session(engine) as session:
            waiting = session.exec(select(SendRow).where(SendRow.kind == "receipt", SendRow.audience == unit,
                                                         SendRow.status != "sent")).all()
        if len(got) >= count and not waiting:
            return sorted(got)
        time.sleep(0.05)
    raise AssertionError(f"expected {count} receipt(s) for {unit}, got {got}; still waiting: {waiting}")


def post_at_once(web, path: str, form: dict[str, str], cookies, copies: int) -> list[httpx.Response]:
    """`copies` identical POSTs released together, each on its own connection, as a phone
    tapped twice (or a browser resending) would send them."""
    barrier = threading.Barrier(copies)
    answers: list[httpx.Response | BaseException] = [None] * copies  # type: ignore[list-item]

    def send(i: int) -> None:
        try:
            with httpx.Client(base_url=web.base, cookies=cookies, timeout=20) as client:
                barrier.wait()
                answers[i] = client.post(path, data=form, follow_redirects=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(isinstance(a, httpx.Response) for a in answers), answers
    return answers  # type: ignore[return-value]


def test_three_identical_posts_at_once_store_one_revision_and_send_one_receipt(web, smtp_server):
    path = web.link("BPMC")
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        answers = post_at_once(web, path, valid_form(csrf=csrf), client.cookies, copies=3)
    for page in answers:
        assert page.status_code == 200, page.text
        assert page.url.path == f"{path}/da-gui" and page.url.params["ban"] == "1"
        assert "Đã gửi báo cáo thành công." in page.text and "bản thứ 1 lúc 09:00 Thứ Tư 02/12/2026" in page.text
    assert [s.revision for s in stored(web, "BPMC")] == [1]
    assert wait_for_receipts(smtp_server, web.service.engine, "BPMC", 1) == ["receipt#1"]
    assert receipts_in_ledger(web.service.engine, "BPMC") == ["receipt#1"]


def test_a_changed_post_right_after_is_revision_2_with_its_own_receipt(web, smtp_server):
    path = web.link("BPMC")
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        first = client.post(path, data=valid_form(csrf=csrf), follow_redirects=True)
        web.clock.now += timedelta(minutes=1)
        changed = client.post(path, data=valid_form(csrf=csrf, so_hoa__num="925",
                                                     h__ton_tai="5 hồ sơ giấy chưa số hoá kịp."),
                              follow_redirects=True)
    assert "bản thứ 1" in first.text and "bản thứ 2 lúc 09:01 Thứ Tư 02/12/2026" in changed.text
    assert [(s.revision, s.figures["so_hoa"]["num"]) for s in stored(web, "BPMC")] == [(1, 930), (2, 925)]
    assert wait_for_receipts(smtp_server, web.service.engine, "BPMC", 2) == ["receipt#1", "receipt#2"]


def test_a_changed_name_alone_is_a_new_revision(web):
    path = web.link("BPMC")
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        client.post(path, data=valid_form(csrf=csrf))
        again = client.post(path, data=valid_form(csrf=csrf, submitted_by="Trần Văn Bình, phó trưởng phòng"),
                            follow_redirects=True)
    assert "bản thứ 2" in again.text
    assert [s.submitted_by for s in stored(web, "BPMC")] == [BY, "Trần Văn Bình, phó trưởng phòng"]


def test_an_identical_post_after_the_window_is_a_deliberate_resend_and_a_new_revision(web, smtp_server):
    path = web.link("BPMC")
    started = web.clock.now
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        client.post(path, data=valid_form(csrf=csrf))
        web.clock.now = started + DUPLICATE_WINDOW - timedelta(minutes=1)
        still_same = client.post(path, data=valid_form(csrf=csrf), follow_redirects=True)
        web.clock.now = started + DUPLICATE_WINDOW + timedelta(minutes=1)
        resent = client.post(path, data=valid_form(csrf=csrf), follow_redirects=True)
    assert "bản thứ 1 lúc 09:00" in still_same.text
    assert "bản thứ 2 lúc 09:11 Thứ Tư 02/12/2026" in resent.text
    assert [s.revision for s in stored(web, "BPMC")] == [1, 2]
    assert wait_for_receipts(smtp_server, web.service.engine, "BPMC", 2) == ["receipt#1", "receipt#2"]


def paper_report(tmp_path):
    document = tmp_path / "kl.yaml"
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    document.write_text(json.dumps({"submitted_by": BY, "indicators": indicators, "narrative": NARRATIVE},
                                   ensure_ascii=False), encoding="utf-8")
    return document


def test_submitting_the_same_file_twice_records_it_once_and_says_so(web, smtp_server, tmp_path):
    document = paper_report(tmp_path)
    first = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document))
    assert first.exit_code == 0, first.output
    web.clock.now += timedelta(minutes=2)
    second = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document))
    assert second.exit_code == 0, second.output
    assert second.output == (f"Báo cáo Quý IV/2026 của Chi cục Kiểm lâm trong {document} giống hệt bản thứ 1 "
                             "đã nhận lúc 09:00 Thứ Tư 02/12/2026: không ghi thêm bản mới, "
                             "không gửi lại thư xác nhận.\n")
    assert [s.revision for s in stored(web, "KL")] == [1]
    assert wait_for_receipts(smtp_server, web.service.engine, "KL", 1) == ["receipt#1"]


def test_a_paper_report_dated_back_is_still_recognised_when_entered_twice(web, tmp_path):
    # The window runs from when the import ran, not from the date written on the paper.
    document = paper_report(tmp_path)
    web.clock.now = web.clock.now.replace(day=8, hour=10)
    args = ["submit", "--unit", "KL", "--period", "2026-Q4", "--received", "2026-12-04 16:30", str(document)]
    assert run(web, *args).exit_code == 0
    again = run(web, *args)
    assert "giống hệt bản thứ 1 đã nhận lúc 16:30 Thứ Sáu 04/12/2026" in again.output
    assert [s.revision for s in stored(web, "KL")] == [1]


def test_the_same_paper_report_entered_again_with_a_corrected_date_is_a_new_revision(web, tmp_path):
    document = paper_report(tmp_path)
    web.clock.now = web.clock.now.replace(day=8, hour=10)
    assert run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document)).exit_code == 0
    corrected = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", "--received", "2026-12-04 16:30",
                    str(document))
    assert "bản thứ 2, nhận lúc 16:30 Thứ Sáu 04/12/2026 (đúng hạn)" in corrected.output
    assert [(s.revision, s.on_time) for s in stored(web, "KL")] == [(1, False), (2, True)]


def test_the_same_figures_sent_by_form_after_a_paper_copy_are_a_new_revision(web, tmp_path):
    # Identical means through the same channel too: the form is the unit's own act.
    assert run(web, "submit", "--unit", "BPMC", "--period", "2026-Q4", str(paper_report(tmp_path))).exit_code == 0
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        page = client.post(web.link("BPMC"), data=valid_form(csrf=csrf), follow_redirects=True)
    assert "bản thứ 2" in page.text
    assert [s.channel for s in stored(web, "BPMC")] == ["file", "form"]


# ---------------------------------------------------------------- two processes, one revision number


def _race_child(url: str, so_hoa: int, start, results) -> None:
    """One process storing BPMC's Q4 report. Both processes read the latest revision, then
    meet at `start` just before their first INSERT, so they really claim the same number."""
    import sqlalchemy as sa

    from scheduler.collect import record
    from scheduler.store import db
    from scheduler.config.load import load_config
    from scheduler.collect.validate import Report

    config = load_config(SHIPPED_CONFIG)
    engine = db.open_store(url)
    inserts = 0

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _meet(conn, cursor, statement, parameters, context, executemany):
        nonlocal inserts
        if statement.lstrip().upper().startswith("INSERT INTO SUBMISSION"):
            inserts += 1
            if inserts == 1:
                start.wait(timeout=20)

    figures = {k: (None if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    figures["so_hoa"] = {"num": so_hoa, "den": 930}
    report = Report(figures=figures, narrative=dict(NARRATIVE), submitted_by=BY)
    now = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)
    try:
        with Session(engine) as session:
            period = {p.key: p for p in db.all_periods(session, config)}["2026-Q4"]
            recorded = record.record(session, config, period, config.unit("BPMC"), report, "form", now)
            session.commit()
            results.put((recorded.submission.revision, recorded.created, inserts, None))
    except BaseException as exc:  # noqa: BLE001 - the parent asserts there was none
        results.put((None, None, inserts, repr(exc)))
    finally:
        engine.dispose()


def race(url: str, so_hoa: tuple[int, int]) -> list[tuple]:
    from scheduler.store import db
    from scheduler.config.load import load_config

    engine = db.open_store(url)
    with Session(engine) as session:
        db.sync_config(session, load_config(SHIPPED_CONFIG), datetime(2026, 12, 1, 8, 0, tzinfo=TZ))
        session.commit()
    engine.dispose()
    mp = multiprocessing.get_context("spawn")
    start, results = mp.Barrier(2), mp.Queue()
    children = [mp.Process(target=_race_child, args=(url, n, start, results)) for n in so_hoa]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    return sorted(outcomes, key=lambda o: (o[0] or 0, not o[1]))


def stored_at(url: str) -> list[tuple[int, int]]:
    from scheduler.store import db

    engine = db.open_store(url)
    try:
        with Session(engine) as session:
            subs = session.exec(select(Submission).order_by(Submission.revision)).all()
            return [(s.revision, s.figures["so_hoa"]["num"]) for s in subs]
    finally:
        engine.dispose()


def test_two_processes_storing_different_reports_at_once_get_revisions_1_and_2(any_db_url):
    outcomes = race(any_db_url, (930, 925))
    assert [(revision, created, error) for revision, created, _, error in outcomes] == [(1, True, None), (2, True, None)]
    assert sum(inserts for *_, inserts, _ in outcomes) == 3  # the race was real: one INSERT lost and was retried
    assert sorted(n for _, n in stored_at(any_db_url)) == [925, 930]
    assert [r for r, _ in stored_at(any_db_url)] == [1, 2]
    assert receipts_in_ledger_at(any_db_url) == ["receipt#1", "receipt#2"]


def test_two_processes_storing_the_same_report_at_once_store_it_once(any_db_url):
    outcomes = race(any_db_url, (930, 930))
    assert [(revision, created, error) for revision, created, _, error in outcomes] == [(1, True, None), (1, False, None)]
    assert sum(inserts for *_, inserts, _ in outcomes) == 2  # both tried revision 1; the second saw it was the same
    assert stored_at(any_db_url) == [(1, 930)]
    assert receipts_in_ledger_at(any_db_url) == ["receipt#1"]


def receipts_in_ledger_at(url: str) -> list[str]:
    from scheduler.store import db

    engine = db.open_store(url)
    try:
        return receipts_in_ledger(engine, "BPMC")
    finally:
        engine.dispose()
