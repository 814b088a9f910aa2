"""The example configs (config/examples/), each written for one seed plan (/work/shared/seeds/),
run as an office runs them: `baocao check-config`, `baocao plan --json`, returns entered with
`baocao submit`, and the consolidated report written by `baocao report` and read back as a
reader of the DOCX reads it. Every command is a child process through the real entry point,
with the clock pinned by tests/run_frozen.py, on a real SQLite store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from tests.conftest import ROOT

EXAMPLES = ROOT / "config" / "examples"
SEEDS = {
    "001-ubnd-tinh-thi-dua": "001_597582cb46731c62",
    "002-tuyen-quang-468": "002_dc0ff733a5ad9426",
    "003-kiem-soat-tthc": "003_165722b0a2fbaa83",
    "004-truyen-thong-tthc": "004_0a5b8b2ccdad47aa",
}


# ---------------------------------------------------------------- running baocao

def baocao(args: list[str], env: dict[str, str], at: str | None = None) -> subprocess.CompletedProcess:
    """`baocao ARGS` in a child process, its clock pinned at `at` (ISO, +07:00) if given;
    stdout and stderr together."""
    command = [sys.executable, str(ROOT / "tests" / "run_frozen.py"), at, *args] if at else [sys.executable, "-m",
                                                                                           "scheduler", *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    return subprocess.run(command, cwd=ROOT, env=clean | env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300)


@dataclass
class Site:
    """One office's installation of an example: its config (a copy), store, key and outbox."""

    root: Path
    config: Path
    env: dict[str, str]

    def run(self, *args: str, at: str | None = None) -> subprocess.CompletedProcess:
        return baocao(list(args), self.env, at)

    def submit(self, unit: str, period: str, data: dict, at: str) -> subprocess.CompletedProcess:
        """A unit's return as a YAML file (JSON is YAML), entered by the office at `at`."""
        path = self.root / f"{unit}-{period}.yaml"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        return self.run("submit", "--unit", unit, "--period", period, str(path), at=at)

    def accepted(self, unit: str, period: str, data: dict, at: str) -> None:
        result = self.submit(unit, period, data, at)
        assert result.returncode == 0, f"{unit} {period}: {result.stdout}"
        assert "Đã ghi báo cáo" in result.stdout, result.stdout

    def report(self, period: str, at: str) -> list[str]:
        out = self.root / f"bao-cao-{period}.docx"
        result = self.run("report", "--period", period, "-o", str(out), at=at)
        assert result.returncode == 0, result.stdout
        return lines_of(Document(str(out)))


def make_site(root: Path, example: str) -> Site:
    from scheduler.settings import Settings
    from scheduler.store.db import open_store

    root.mkdir(parents=True, exist_ok=True)
    config = root / "config"
    shutil.copytree(EXAMPLES / example, config)
    url = f"sqlite:///{root / 'baocao.db'}"
    open_store(url).dispose()  # as the service's first start leaves it
    key = root / "secret_key"
    Settings(secret_key_file=key).secret(create=True)
    env = {"BAOCAO_DATABASE_URL": url, "BAOCAO_CONFIG_DIR": str(config), "BAOCAO_SECRET_KEY_FILE": str(key),
           "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"), "BAOCAO_OUTBOX_DIR": str(root / "outbox")}
    return Site(root, config, env)


# ---------------------------------------------------------------- reading the DOCX

def _text(element) -> str:
    """An element's words as read: a line break, a tab or a new paragraph is a space."""
    parts = []
    for node in element.iter(qn("w:t"), qn("w:br"), qn("w:tab"), qn("w:p")):
        parts.append(node.text or "" if node.tag == qn("w:t") else " ")
    return " ".join("".join(parts).split())


def lines_of(document) -> list[str]:
    """The body as a reader goes through it: each paragraph a line, each table row a line of its
    cells joined by " | " (nested tables and merged cells read once)."""
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            text = _text(element)
            if text:
                lines.append(text)
        elif element.tag == qn("w:tbl"):
            for row in element.iter(qn("w:tr")):
                cells = [_text(tc) for tc in row.iterchildren(qn("w:tc"))]
                lines.append(" | ".join(cells))
    return lines


def index(lines: list[str], pattern: str, after: int = -1) -> int:
    """The first line after `after` matching the regular expression `pattern`."""
    found = next((i for i, line in enumerate(lines) if i > after and re.search(pattern, line)), None)
    assert found is not None, f"no line matches {pattern!r} after line {after}:\n" + "\n".join(lines)
    return found


def row(lines: list[str], name: str, after: int = -1) -> str:
    """The table row naming `name` (not a sentence of the text that names it too)."""
    return lines[index(lines, r"\|.*" + re.escape(name) + r"|" + re.escape(name) + r".*\|", after)]


HEADING = re.compile(r"^(?:[IVX]+|\d+(?:\.\d+)*)\.\s+\S")
NOTHING = ("Chưa có đơn vị báo cáo nội dung này",)


def level(line: str) -> int | None:
    """A section heading's level (I. = 1, 1. = 2, 1.1. = 3); None for any other line."""
    if "|" in line or not HEADING.match(line):
        return None
    number = line.split(".")[0]
    return 1 if re.fullmatch(r"[IVX]+", number) else 1 + len(re.match(r"^[\d.]+", line).group(0).rstrip(".").split("."))


# ---------------------------------------------------------------- (a) check-config, the headers

@pytest.mark.parametrize("example", sorted(SEEDS))
def test_check_config_passes_on_each_example(example, tmp_path):
    result = baocao(["--config", str(EXAMPLES / example), "check-config"], {"BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"),
                                                                          "BAOCAO_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"})
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"Cấu hình hợp lệ ({EXAMPLES / example}).")


@pytest.mark.parametrize("example", sorted(SEEDS))
def test_each_plan_names_its_seed_and_what_each_part_encodes(example):
    text = (EXAMPLES / example / "plan.yaml").read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    header_text = "\n".join(header)
    assert f"/work/shared/seeds/{SEEDS[example]}.txt" in header_text
    assert "Phần nào mã hoá điều gì" in header_text
    # Every part of the plan that carries the seed's content is explained in the header.
    keys = [m.group(1) for m in re.finditer(r"^([a-z_]+):", text, re.M)]
    explained = {k for k in keys if re.search(rf"^#\s+(?:[a-z_]+,\s+)*{k}\b", header_text, re.M)}
    assert set(keys) - {"calendar", "reminders", "report"} <= explained, set(keys) - explained


# ---------------------------------------------------------------- (b) plan --json

@pytest.mark.parametrize("example, at, start, end, periods", [
    ("001-ubnd-tinh-thi-dua", "2026-04-20T10:00:00+07:00", "2026-04-20", "2027-01-31",
     {"2026-Q2", "2026-Q3", "2026-Q4", "2026"}),
    ("002-tuyen-quang-468", "2021-12-20T10:00:00+07:00", "2021-12-20", "2025-12-31", {"2022", "2023", "2024", "2025"}),
    ("003-kiem-soat-tthc", "2025-06-20T10:00:00+07:00", "2025-06-20", "2026-01-31",
     {"2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2025-H2"}),
    ("004-truyen-thong-tthc", "2025-12-20T10:00:00+07:00", "2025-12-20", "2026-12-31",
     {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}),
], ids=lambda v: v if isinstance(v, str) and v[:3].isdigit() and "-" in v[3:5] else "")
def test_plan_json_lists_the_periods_the_seed_implies(tmp_path, example, at, start, end, periods):
    site = make_site(tmp_path, example)
    result = site.run("plan", "--from", start, "--to", end, "--json", at=at)
    assert result.returncode == 0, result.stdout
    sends = json.loads(result.stdout)
    assert {s["period"] for s in sends} == periods
    # Each period's consolidated report goes to the office on its due day (or the next working day).
    reports = {s["period"]: s["at"][:10] for s in sends if s["kind"] == "report"}
    assert set(reports) == periods
    if example == "003-kiem-soat-tthc":
        # December's late list is due 05/01/2026, after the plan's end, and still belongs to it.
        assert reports["2025-12"] == "2026-01-05"
        assert reports["2025-H2"] == "2025-12-18"
        assert [s["at"][:10] for s in sends if s["period"] == "2025-12" and s["kind"] == "notice"] == ["2025-12-19"] * 31
    if example == "002-tuyen-quang-468":
        assert reports == {"2022": "2022-12-16", "2023": "2023-12-18", "2024": "2024-12-16", "2025": "2025-12-16"}
    if example == "001-ubnd-tinh-thi-dua":
        assert reports == {"2026-Q2": "2026-06-18", "2026-Q3": "2026-09-18", "2026-Q4": "2026-12-18",
                           "2026": "2027-01-11"}


# ---------------------------------------------------------------- (c) 001: UBND tỉnh Bắc Ninh, thi đua

THI_DUA_ALL_MET = {
    "huong_dan": {"num": 1200, "den": 1200}, "tu_thao_tac": {"num": 1100, "den": 1200},
    "cam_tay_chi_viec": {"num": 12, "den": 12}, "so_hoa": {"num": 900, "den": 900},
    "toan_trinh": {"num": 40, "den": 40}, "truc_tuyen": {"num": 1150, "den": 1200},
    "su_dung_dvctt": {"num": 1000, "den": 1200}, "ket_qua_dien_tu": {"num": 1120, "den": 1200},
    "tai_su_dung": {"num": 1000, "den": 1200}, "thanh_toan": {"num": 500, "den": 600},
    "hai_long": {"num": 1190, "den": 1200},
}
THI_DUA_TEXT = {"tt_huong_dan": "Đã bố trí công chức hướng dẫn tại Bộ phận Một cửa.",
                "tt_dvc_truc_tuyen": "Đã tuyên truyền trên Cổng thông tin điện tử.",
                "tt_so_hoa": "Đã số hoá hồ sơ phát sinh.", "phuong_huong": "Tiếp tục duy trì các chỉ tiêu.",
                "ton_tai": "Một số chỉ tiêu chưa đạt do hạ tầng còn hạn chế."}


@pytest.fixture(scope="module")
def thi_dua(tmp_path_factory) -> list[str]:
    """Quý II/2026 of example 001: two sở and two xã, phường report; the report is written after the deadline."""
    site = make_site(tmp_path_factory.mktemp("thi-dua"), "001-ubnd-tinh-thi-dua")
    at = "2026-06-15T09:00:00+07:00"
    two_missed = THI_DUA_ALL_MET | {"hai_long": {"num": 1000, "den": 1200}, "thanh_toan": {"num": 300, "den": 600}}
    one_missed = THI_DUA_ALL_MET | {"hai_long": {"num": 1100, "den": 1200}}
    for unit, figures in (("STP", one_missed), ("SNV", THI_DUA_ALL_MET), ("XA-XUANLUONG", two_missed),
                          ("PH-BACGIANG", THI_DUA_ALL_MET)):
        site.accepted(unit, "2026-Q2", {"submitted_by": "Nguyễn Thu Ngân, chuyên viên", "indicators": figures,
                                        "narrative": THI_DUA_TEXT}, at)
    return site.report("2026-Q2", at="2026-06-20T09:00:00+07:00")


def test_001_the_province_heads_its_report_with_its_own_name_alone(thi_dua):
    header = thi_dua[0].split(" | ")
    assert header[0] == "ỦY BAN NHÂN DÂN TỈNH BẮC NINH"
    assert header[1] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc"
    assert thi_dua[1].startswith("Số: /BC-UBND | Bắc Ninh, ngày")


def test_001_indicators_are_numbered_under_their_group_titles(thi_dua):
    groups = {
        "1": ("Nhóm chỉ tiêu về công tác hướng dẫn, hỗ trợ người dân",
              ["Người dân đến thực hiện TTHC được tuyên truyền, hướng dẫn về dịch vụ công trực tuyến",
               "Người dân được hỗ trợ có thể tự thao tác nộp hồ sơ trực tuyến",
               "Cán bộ, công chức tại Trung tâm Phục vụ hành chính công các cấp tham gia mô hình"]),
        "2": ("Nhóm chỉ tiêu về số hoá, dịch vụ công trực tuyến",
              ["Hồ sơ, kết quả giải quyết TTHC được số hoá", "Dịch vụ công trực tuyến toàn trình",
               "Hồ sơ TTHC xử lý trực tuyến", "Tỷ lệ sử dụng dịch vụ công trực tuyến",
               "Tỷ lệ cấp kết quả giải quyết TTHC điện tử", "Tỷ lệ khai thác, sử dụng lại thông tin",
               "Tỷ lệ thanh toán trực tuyến"]),
        "3": ("Nhóm chỉ tiêu về nâng cao mức độ hài lòng của người dân, doanh nghiệp",
              ["Mức độ hài lòng của người dân, doanh nghiệp trong giải quyết TTHC"]),
    }
    at = -1
    for number, (title, names) in groups.items():
        at = index(thi_dua, rf"^{number}\.?( \| |\s+){re.escape(title)}", at)
        for n, name in enumerate(names, 1):
            following = index(thi_dua, rf"^{number}\.{n}\.?( \| |\s+){re.escape(name)}", at)
            assert following == at + 1, (number, n, thi_dua[at], thi_dua[following])
            at = following


def test_001_units_are_ranked_high_to_low_within_each_bloc(thi_dua):
    start = index(thi_dua, r"^(?:\d+\.\s*|[IVX]+\.\s*)?Xếp hạng")
    ranking = thi_dua[start:]
    # Each bloc under its name as units.yaml writes it, its units best first, numbered from 1.
    so = index(ranking, r"[Ss]ở, ban, ngành")  # "Khối sở, ban, ngành" inside a phrase
    snv, stp = index(ranking, r"^1 \| Sở Nội vụ\b", so), index(ranking, r"^2 \| Sở Tư pháp\b", so)
    xa = index(ranking, r"UBND xã, phường", so)  # an acronym keeps its capitals
    ph, xx = index(ranking, r"^1 \| Phường Bắc Giang\b", xa), index(ranking, r"^2 \| Xã Xuân Lương\b", xa)
    assert so < snv < stp < xa < ph < xx
    assert "11/11" in ranking[snv] and "10/11" in ranking[stp] and "9/11" in ranking[xx]
    assert not [line for line in thi_dua if "uBND" in line]  # the bloc's name is not mangled


def test_001_the_period_s_figures_run_from_the_cut_off(thi_dua):
    assert [line for line in thi_dua if "(số liệu tính từ ngày 15/03/2026 đến ngày 14/06/2026) như sau:" in line]


# ---------------------------------------------------------------- (c) 002: Sở NN&PTNT Tuyên Quang, by year

def tuyen_quang_return(unit: str, khong_cung_cap_lai: tuple[int, int], cho_doi: tuple[int, int]) -> dict:
    """What each unit answers: only the indicators and headings the plan gives it (applies_to)."""
    figures = {"khong_cung_cap_lai": {"num": khong_cung_cap_lai[0], "den": khong_cung_cap_lai[1]},
               "so_hoa": {"num": 300, "den": 300}, "luan_chuyen_dien_tu": {"num": 250, "den": 300}}
    narrative = {"quan_triet": "Đã quán triệt đến toàn thể công chức.", "so_hoa_ho_so": "Đã số hóa hồ sơ.",
                 "moi_truong_dien_tu": "Đã đẩy mạnh dịch vụ công trực tuyến.", "phuong_huong": "Tiếp tục thực hiện.",
                 "ton_tai": "Thời gian chờ còn dài."}
    if unit == "BPTNTKQ":
        figures |= {"dvc_truc_tuyen": {"num": 600, "den": 1000}, "cap_nhat_mot_cua": {"num": 1000, "den": 1000},
                    "hai_long": {"num": 980, "den": 1000}, "cho_doi": {"num": cho_doi[0], "den": cho_doi[1]},
                    "thoi_gian_xu_ly": {"num": 40000, "den": 1000}}
    if unit in ("BPTNTKQ", "VP"):
        narrative["bo_phan_mot_cua"] = "Đã bố trí thêm quầy tiếp nhận."
    if unit == "VP":
        figures["dvc_tich_hop"] = {"num": 45, "den": 45}
        narrative["ha_tang"] = "Đã nâng cấp máy quét."
    return {"submitted_by": "Ma Thị Thu Hường, chuyên viên", "indicators": figures, "narrative": narrative}


@pytest.fixture(scope="module")
def tuyen_quang(tmp_path_factory) -> dict[str, list[str]]:
    site = make_site(tmp_path_factory.mktemp("tuyen-quang"), "002-tuyen-quang-468")
    # 2024: 70% not asked again (≥ 70%: met), 24 phút/lượt (≤ 30: met).
    # 2025: 85% (≥ 80%: met, up 15 points), 24 phút/lượt (≤ 15: missed).
    for year, at, kcl in (("2024", "2024-12-10T09:00:00+07:00", (350, 500)), ("2025", "2025-12-10T09:00:00+07:00", (425, 500))):
        site.accepted("VP", year, tuyen_quang_return("VP", kcl, (0, 0)), at)
        site.accepted("BPTNTKQ", year, tuyen_quang_return("BPTNTKQ", kcl, (24000, 1000)), at)
        site.accepted("KL", year, tuyen_quang_return("KL", kcl, (0, 0)), at)
    return {"2024": site.report("2024", at="2024-12-20T09:00:00+07:00"),
            "2025": site.report("2025", at="2025-12-20T09:00:00+07:00")}


KHONG_CUNG_CAP_LAI = "Người dân, doanh nghiệp khi thực hiện TTHC không phải cung cấp lại"
CHO_DOI = "Thời gian chờ đợi trung bình của người dân, doanh nghiệp"


def test_002_each_year_s_report_shows_that_year_s_target(tuyen_quang):
    assert "≥ 80%" in row(tuyen_quang["2025"], KHONG_CUNG_CAP_LAI) and "≥ 70%" not in row(tuyen_quang["2025"], KHONG_CUNG_CAP_LAI)
    assert "≥ 70%" in row(tuyen_quang["2024"], KHONG_CUNG_CAP_LAI) and "≥ 80%" not in row(tuyen_quang["2024"], KHONG_CUNG_CAP_LAI)
    assert "85%" in row(tuyen_quang["2025"], KHONG_CUNG_CAP_LAI) and "70%" in row(tuyen_quang["2024"], KHONG_CUNG_CAP_LAI)


def test_002_the_report_compares_with_the_previous_year(tuyen_quang):
    lines = tuyen_quang["2025"]
    table_head = lines[index(lines, r"Chỉ tiêu \|.*\| So với")]
    assert "So với" in table_head
    assert "Tăng 15" in row(lines, KHONG_CUNG_CAP_LAI)
    assert "Không đổi" in row(lines, CHO_DOI)


def test_002_the_mean_indicator_shows_its_unit_and_the_2022_target_until_2025(tuyen_quang):
    line_2024, line_2025 = row(tuyen_quang["2024"], CHO_DOI), row(tuyen_quang["2025"], CHO_DOI)
    assert "24 phút/lượt" in line_2024 and "≤ 30 phút/lượt" in line_2024
    assert re.search(r"\bĐạt\b", line_2024) and "Chưa đạt" not in line_2024
    assert "24 phút/lượt" in line_2025 and "≤ 15 phút/lượt" in line_2025 and "Chưa đạt" in line_2025
    assert "%" not in line_2024.split(" | ", 2)[2]  # a mean is no percentage


# ---------------------------------------------------------------- (c) 003: kiểm soát TTHC, "trong đó"

def late_list(dung_han: tuple[int, int], truoc_han: int) -> dict:
    return {"submitted_by": "Nguyễn Thu Ngân, chuyên viên",
            "indicators": {"dung_han": {"num": dung_han[0], "den": dung_han[1]}, "truoc_han": {"num": truoc_han},
                           "cham_giai_trinh": {"num": 5, "den": 5}},
            "narrative": {"danh_sach_cham_muon": "Có 5 hồ sơ chậm muộn, đã giải trình và xin lỗi người dân."}}


@pytest.fixture(scope="module")
def kiem_soat(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("kiem-soat"), "003-kiem-soat-tthc")
    at = "2026-01-02T09:00:00+07:00"
    site.accepted("SNV", "2025-12", late_list((95, 100), 70), at)
    site.accepted("XA-TIENDU", "2025-12", late_list((45, 50), 20), at)
    return site


def test_003_a_trong_do_child_is_the_row_right_under_its_parent(kiem_soat):
    lines = kiem_soat.report("2025-12", at="2026-01-06T09:00:00+07:00")
    parent = index(lines, r"Hồ sơ TTHC được giải quyết trước và đúng hạn \|")  # the table's rows, not the text's
    child = index(lines, r"Hồ sơ TTHC trả trước hạn \|")
    assert child == parent + 1, lines[parent:child + 1]
    # 140/150 on time or early (> 90%: met); of the same 150, 90 early: 60%, not above 60%.
    assert "140/150" in lines[parent] and "> 90%" in lines[parent] and re.search(r"\bĐạt\b", lines[parent])
    assert "60%" in lines[child] and "90/150" in lines[child] and "> 60%" in lines[child] and "Chưa đạt" in lines[child]
    # The child has no number of its own: it is part of its parent's.
    assert not re.match(r"^\d+(\.\d+)*\.? \|", lines[child]), lines[child]


def test_003_a_child_above_its_parent_is_refused_at_the_child(kiem_soat):
    data = late_list((70, 100), 80)
    result = kiem_soat.submit("STP", "2025-12", data, at="2026-01-02T10:00:00+07:00")
    assert result.returncode == 1, result.stdout
    path = kiem_soat.root / "STP-2025-12.yaml"
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if '"truoc_han"' in text)
    assert (f"{path}:{line}: indicators.truoc_han: “Số hồ sơ trả trước hạn” (80) lớn hơn “Số hồ sơ giải quyết trước và "
            "đúng hạn” (70): số “trong đó” là một phần của chỉ tiêu chính") in result.stdout
    assert "Traceback" not in result.stdout
    status = kiem_soat.run("status", "--period", "2025-12", "--json", at="2026-01-02T10:05:00+07:00")
    assert status.returncode == 0, status.stdout
    units = {u["unit"]: u for u in json.loads(status.stdout)["units"]}
    assert units["STP"]["state"] == "missing"


def test_003_december_s_late_list_is_due_in_january_and_titled_by_its_month(kiem_soat):
    check = kiem_soat.run("check-config")
    assert check.returncode == 0, check.stdout
    assert re.search(r"2025-12\s+Tháng 12/2025\s+nộp trước ngày Thứ Hai, 05/01/2026 \(31 đơn vị\)", check.stdout)
    lines = kiem_soat.report("2025-12", at="2026-01-06T09:00:00+07:00")
    assert lines[index(lines, r"^BÁO CÁO$") + 1].endswith("tháng 12/2025")


def test_003_the_half_year_s_figures_run_from_15_06_to_14_12(kiem_soat):
    lines = kiem_soat.report("2025-H2", at="2025-12-20T09:00:00+07:00")
    assert [line for line in lines if "(số liệu tính từ ngày 15/06/2025 đến ngày 14/12/2025) như sau:" in line]
    assert lines[index(lines, r"^BÁO CÁO$") + 1].endswith("6 tháng cuối năm 2025")


# ---------------------------------------------------------------- (c) 004: truyền thông, counts

COUNTS = {"tin_bai": 12, "chuyen_muc": 1, "mang_xa_hoi": 30, "lop_tap_huan": 2, "luot_tham_du": 150,
          "hoi_nghi_long_ghep": 3, "cuoc_thi": None, "to_roi": 500, "mo_hinh_sang_kien": 1}
CENTRE_TEXT = "Trung tâm đã đưa 20 tin về kiểm soát TTHC trên trang của Trung tâm."
STRAY_TEXT = "Văn phòng Sở viết nhầm vào đề mục của Trung tâm Khuyến nông và Môi trường."


def communications(narrative: dict) -> dict:
    return {"submitted_by": "Lưu Văn Thuấn, chuyên viên",
            "indicators": {k: ("không phát sinh" if v is None else {"num": v}) for k, v in COUNTS.items()},
            "narrative": {"noi_dung": "Đã tuyên truyền các quy định mới về TTHC.",
                          "hinh_thuc": "Báo, đài, Trang thông tin điện tử, mạng xã hội.",
                          "phuong_huong": "Tiếp tục tuyên truyền trong quý tới."} | narrative}


@pytest.fixture(scope="module")
def truyen_thong(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("truyen-thong"), "004-truyen-thong-tthc")
    at = "2026-03-10T09:00:00+07:00"
    # The Văn phòng also writes under the centre's own heading: refused, or ignored.
    stray = site.submit("VP", "2026-Q1", communications({"cong_khai_tthc": "Đã công khai 100% TTHC tại Trung tâm PVHCC.",
                                                         "ttknmt_tuyen_truyen": STRAY_TEXT}), at)
    if stray.returncode != 0:
        assert "ttknmt_tuyen_truyen" in stray.stdout and "Traceback" not in stray.stdout, stray.stdout
        site.accepted("VP", "2026-Q1", communications({"cong_khai_tthc": "Đã công khai 100% TTHC tại Trung tâm PVHCC."}), at)
    site.accepted("TTKNMT", "2026-Q1", communications({"ttknmt_tuyen_truyen": CENTRE_TEXT}), at)
    site.accepted("KHTC", "2026-Q1", communications({}), at)  # neither the office's nor the centre's heading
    return site.report("2026-Q1", at="2026-03-20T09:00:00+07:00")


def test_004_counts_without_a_target_are_sums_in_their_unit_never_assessed(truyen_thong):
    expected = {"Tin, bài tuyên truyền đăng tải trên Báo và Phát thanh": "36 tin, bài",
                "Lượt người tham dự tập huấn, hội nghị, hội thảo": "450 lượt người",
                "Tờ rơi, tờ gấp, áp phích": "1.500 tờ", "Tin, bài tuyên truyền trên mạng xã hội": "90 tin, bài"}
    for name, total in expected.items():
        line = row(truyen_thong, name)
        assert total in line, line
        assert "Đạt" not in line and "Chưa đạt" not in line and "%" not in line, line
    assert not [line for line in truyen_thong if re.search(r"\bđạt\b", line, re.I) and "|" in line
                and "Chỉ tiêu" not in line], "no count has a target: nothing is assessed"


def test_004_no_section_is_a_heading_followed_by_nothing(truyen_thong):
    body = truyen_thong[:index(truyen_thong, r"^Nơi nhận:")]
    for i, line in enumerate(body):
        own = level(line)
        if own is None:
            continue
        following = body[i + 1] if i + 1 < len(body) else None
        assert following is not None, f"{line!r} ends the report"
        assert not (level(following) is not None and level(following) <= own), f"{line!r} is followed by {following!r}"
        assert not following.startswith(NOTHING), f"{line!r} is followed by {following!r}"


def test_004_the_centre_s_own_heading_shows_the_centre_s_text_only(truyen_thong):
    title = "Thường xuyên tuyên truyền, đưa tin về hoạt động kiểm soát TTHC"
    assert [line for line in truyen_thong if title in line]
    assert [line for line in truyen_thong if CENTRE_TEXT in line]
    assert not [line for line in truyen_thong if STRAY_TEXT in line]
