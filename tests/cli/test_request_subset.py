"""`baocao request --indicators … --headings …`: an on-request report asking a subset of its
obligation, each id checked against the obligation, refused in Vietnamese when wrong."""

from __future__ import annotations

from freezegun import freeze_time
from sqlmodel import Session, select

from scheduler.store.db import open_store
from scheduler.store.tables import PeriodRow
from tests.conftest import SHIPPED_CONFIG, cli_run, example_config

NOW = "2026-12-10T09:00:00+07:00"
OPEN = ["request", "--title", "Báo cáo rà soát thủ tục hành chính", "--deadline", "18/12/2026"]


def run(args, db_url, config_dir=SHIPPED_CONFIG):
    with freeze_time(NOW):
        return cli_run(args, db_url, config_dir)


def requests(db_url) -> list[PeriodRow]:
    engine = open_store(db_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(PeriodRow).where(PeriodRow.source == "request")).all())
    finally:
        engine.dispose()


def test_a_request_asks_only_the_indicators_and_headings_given(db_url):
    result = run(OPEN + ["--units", "bpmc,VPDKDD", "--indicators", "toan_trinh, SO_HOA", "--headings", "de_xuat"],
                 db_url)
    assert result.exit_code == 0, result.output
    assert ("Đã mở báo cáo đột xuất YC-20261218: “Báo cáo rà soát thủ tục hành chính”, nộp trước ngày "
            "Thứ Sáu, 18/12/2026, 2 đơn vị, hỏi 2 chỉ tiêu và 1 đề mục thuyết minh.") in result.output
    (row,) = requests(db_url)
    assert row.units == ["BPMC", "VPDKDD"]
    assert (row.indicators, row.headings) == (["so_hoa", "toan_trinh"], ["de_xuat"])  # in the plan's order


def test_one_option_alone_asks_nothing_of_the_other_kind_and_neither_asks_the_whole_form(db_url):
    assert run(OPEN + ["--headings", "de_xuat"], db_url).exit_code == 0
    assert run(OPEN + ["--indicators", "toan_trinh"], db_url).exit_code == 0
    whole = run(OPEN, db_url)
    assert whole.exit_code == 0 and "hỏi" not in whole.output.split(".")[0]
    rows = sorted(requests(db_url), key=lambda r: r.key)
    assert [(r.indicators, r.headings) for r in rows] == [([], ["de_xuat"]), (["toan_trinh"], []), (None, None)]


def test_ids_the_obligation_lacks_are_refused_in_vietnamese(db_url):
    wrong = run(OPEN + ["--indicators", "toan_trinh,truc_tuyenn,abc"], db_url)
    assert wrong.exit_code == 2
    assert "nghĩa vụ 'quy' không có chỉ tiêu 'truc_tuyenn', 'abc'; các chỉ tiêu của nghĩa vụ: quan_triet," in wrong.output
    assert "--indicators" in wrong.output
    heading = run(OPEN + ["--headings", "de_xuaat"], db_url)
    assert heading.exit_code == 2 and "nghĩa vụ 'quy' không có đề mục 'de_xuaat'" in heading.output
    assert "--headings" in heading.output
    empty = run(OPEN + ["--indicators", " , ", "--headings", ""], db_url)
    assert empty.exit_code == 2 and "ghi ít nhất một mã chỉ tiêu hoặc một mã đề mục" in empty.output
    assert requests(db_url) == []


def test_a_trong_do_child_needs_its_parent(tmp_path, db_url):
    """Seed 003: "giải quyết trước và đúng hạn > 90%, trong đó trước hạn > 60%"."""
    from scheduler.config.load import load_config

    config_dir = example_config(tmp_path, "003-kiem-soat-tthc")
    config = load_config(config_dir)
    ob = next(o for o in config.plan.obligations
              if any(i.parent in o.indicators for i in config.plan.indicators if i.id in o.indicators))
    child = next(i for i in config.plan.indicators if i.id in ob.indicators and i.parent in ob.indicators)
    args = ["request", "--title", "Báo cáo nhanh về giải quyết hồ sơ", "--deadline", "18/12/2026", "--like", ob.id]
    alone = run(args + ["--indicators", child.id], db_url, config_dir)
    assert alone.exit_code == 2, alone.output
    assert f"'{child.id}': “Trong đó: {child.name}” tính trên mẫu số của chỉ tiêu" in " ".join(alone.output.split())
    both = run(args + ["--indicators", f"{child.id},{child.parent}"], db_url, config_dir)
    assert both.exit_code == 0, both.output
    order = [i.id for i in config.plan.indicators]
    assert requests(db_url)[0].indicators == sorted([child.parent, child.id], key=order.index)
