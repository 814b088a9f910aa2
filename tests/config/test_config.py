"""Every class of config mistake an admin can make is reported with file, line and field."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata

import pytest

from scheduler.config.load import load_config
from scheduler.config.source import ConfigError
from tests.conftest import ROOT, edit, line_of


def errors(config_dir) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(config_dir)
    return [str(i) for i in exc.value.issues]


def test_shipped_config_is_valid_and_realistic(shipped_config):
    units = shipped_config.units
    assert 15 <= len(units) <= 20
    assert any(u.code == "BPMC" and "Một cửa" in u.name for u in units)
    emails = [p.email for u in units for p in u.focal_points] + [u.head.email for u in units]
    assert all(e.endswith("@example.org") for e in emails)  # nothing real is mailed by accident
    assert [i.id for i in shipped_config.plan.indicators][:3] == ["quan_triet", "cam_tay_chi_viec", "huong_dan"]


def test_duplicate_unit_code_and_bad_email_are_both_named_with_line(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "code: TTRA", "code: BPMC")
    edit(units, "email: khtc.daumoi@example.org", "email: abc")
    errs = errors(config_dir)
    assert f"{units}:{line_of(units, 'code: BPMC', 2)}: đơn vị BPMC (Thanh tra Sở) › code: mã đơn vị 'BPMC' trùng với đơn vị ở dòng {line_of(units, 'code: BPMC')}" in errs
    assert f"{units}:{line_of(units, 'email: abc')}: đơn vị KHTC › đầu mối Phạm Thu Hà › email: 'abc' không phải địa chỉ email hợp lệ" in errs


def test_unknown_key_is_an_error(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "        email: bpmc.daumoi@example.org", "        emial: bpmc.daumoi@example.org")
    errs = errors(config_dir)
    line = line_of(units, "emial:")
    assert f"{units}:{line}: đơn vị BPMC › đầu mối Nguyễn Thị Hồng Nhung › emial: khoá không được phép (gõ nhầm tên khoá?)" in errs
    assert f"{units}:{line - 1}: đơn vị BPMC › đầu mối Nguyễn Thị Hồng Nhung › email: thiếu trường bắt buộc" in errs


def test_duplicated_key_is_an_error_not_a_silent_overwrite(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "        email: thanhtra.daumoi@example.org",
         "        email: thanhtra.daumoi@example.org\n        email: nham@example.org")
    errs = errors(config_dir)
    first = line_of(units, "thanhtra.daumoi@example.org")
    assert errs == [f"{units}:{first + 1}: đơn vị TTRA › đầu mối Lê Minh Tuấn › email: khoá 'email' bị lặp lại "
                    f"(đã có ở dòng {first}); xoá một trong hai dòng"]


def test_yaml_11_words_do_not_change_type(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(units, "active: true", "active: no")  # YAML 1.1 would read False without a word
    edit(units, "code: TTRA", "code: 012")  # YAML 1.1 would read 10
    edit(plan, 'send_at: "08:00"', "send_at: 08:00")  # YAML 1.1 would read 480
    errs = errors(config_dir)
    assert errs == [
        f"{units}:{line_of(units, 'active: no')}: đơn vị BPMC › active: 'no' không hợp lệ: chỉ dùng true hoặc false",
        f"{units}:{line_of(units, 'code: 012')}: đơn vị thứ 2 (Thanh tra Sở) › code: 012 được YAML đọc là số, "
        'không phải chữ: đặt trong dấu nháy (code: "012")',
    ]
    # unquoted 08:00 stays the time the admin meant
    edit(units, "active: no", "active: true")
    edit(units, "code: 012", "code: TTRA")
    assert load_config(config_dir).plan.reminders.send_at.isoformat() == "08:00:00"


def test_duplicate_emails_within_a_unit(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "email: bpmc.tiepnhan@example.org", "email: BPMC.DauMoi@example.org")
    errs = errors(config_dir)
    assert errs == [f"{units}:{line_of(units, 'BPMC.DauMoi')}: đơn vị BPMC › đầu mối Nguyễn Văn An › email: "
                    f"email 'BPMC.DauMoi@example.org' trùng với đầu mối ở dòng {line_of(units, 'bpmc.daumoi')}"]


def test_references_to_undefined_obligation_indicator_heading(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(units, "obligations: [quy]", "obligations: [quy, nam]")
    edit(plan, "thanh_toan, ket_qua_dien_tu", "thanh_toan, ket_qua_dientu")
    edit(plan, "ton_tai, phuong_huong", "ton_tai, phuong_huongg")
    errs = errors(config_dir)
    assert f"{plan}:{line_of(plan, 'ket_qua_dientu')}: nghĩa vụ quy › indicators › mục thứ 8: chỉ tiêu 'ket_qua_dientu' chưa được định nghĩa trong indicators" in errs
    assert f"{plan}:{line_of(plan, 'phuong_huongg')}: nghĩa vụ quy › headings › mục thứ 7: đề mục 'phuong_huongg' chưa được định nghĩa trong headings" in errs
    assert f"{units}:{line_of(units, '[quy, nam]')}: đơn vị BPMC › obligations › mục thứ 2: nghĩa vụ 'nam' chưa được định nghĩa trong plan.yaml" in errs
    assert len(errs) == 3


@pytest.mark.parametrize("target, message", [
    ('"> 120%"', "mục tiêu 120% nằm ngoài khoảng 0–100%"),
    ('"≥ -5%"', "mục tiêu -5% nằm ngoài khoảng 0–100%"),
    ('"khoảng 90"', "'khoảng 90' không hợp lệ: viết như \"≥ 90%\", \"> 95%\", \"= 100%\", \"≤ 30\""),
])
def test_target_outside_0_100_or_unreadable(config_dir, target, message):
    plan = config_dir / "plan.yaml"
    edit(plan, 'target: "> 95%"', f"target: {target}")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, target)}: chỉ tiêu hai_long › target: {message}"]


def test_targets_keep_their_own_operator(shipped_config):
    targets = {i.id: str(i.target_for(None)) for i in shipped_config.plan.indicators}
    assert targets["hai_long"] == "> 95%" and targets["tu_thao_tac"] == "≥ 90%" and targets["so_hoa"] == "= 100%"
    hai_long = next(i for i in shipped_config.plan.indicators if i.id == "hai_long").target_for(None)
    assert not hai_long.met(95.0) and hai_long.met(95.1)


def test_duplicate_ids_and_clashing_steps_in_the_plan(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "  - id: cam_tay_chi_viec", "  - id: quan_triet")
    edit(plan, "{kind: reminder, working_days_before: 1}", "{kind: reminder, working_days_before: 10}")
    errs = errors(config_dir)
    assert f"{plan}:{line_of(plan, 'id: quan_triet', 2)}: chỉ tiêu quan_triet (Công chức tại Bộ phận Một cửa tham gia…) › id: mã chỉ tiêu 'quan_triet' trùng với chỉ tiêu ở dòng {line_of(plan, 'id: quan_triet')}" in errs
    assert f"{plan}:{line_of(plan, 'working_days_before: 10}', 2)}: reminders › bước nhắc thứ 3 (reminder): trùng ngày gửi với bước nhắc thứ 1 (notice) ở dòng {line_of(plan, 'kind: notice')}" in errs


def test_missing_file_is_reported(config_dir):
    (config_dir / "plan.yaml").unlink()
    assert errors(config_dir) == [f"{config_dir / 'plan.yaml'}: không tìm thấy tệp"]


def test_all_errors_are_reported_at_once_across_both_files(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(units, "code: TTRA", "code: BPMC")
    edit(units, "email: khtc.daumoi@example.org", "email: abc")
    edit(units, "active: true", "active: yes")
    edit(plan, 'target: "> 95%"', 'target: "> 101%"')
    edit(plan, "section: proposals", "section: proposal")
    errs = errors(config_dir)
    assert len(errs) == 5
    # plan.yaml first, then units.yaml, each by line
    assert [e.split(":")[0] for e in errs] == [str(plan)] * 2 + [str(units)] * 3


def test_vietnamese_text_is_normalised_to_nfc(config_dir):
    units = config_dir / "units.yaml"
    decomposed = unicodedata.normalize("NFD", "Thanh tra Sở")
    edit(units, "name: Thanh tra Sở", f"name: {decomposed}")
    assert (config_dir / "units.yaml").read_text(encoding="utf-8").count(decomposed) == 1
    unit = load_config(config_dir).unit("TTRA")
    assert unit.name == "Thanh tra Sở" and unicodedata.is_normalized("NFC", unit.name)


def test_one_off_request_in_the_plan_becomes_a_period(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "  # - id: yc-ra-soat-tthc\n  #   title: Báo cáo rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình\n"
               "  #   period: once\n  #   deadline: 2026-12-20\n",
         "  - id: yc-ra-soat-tthc\n    title: Báo cáo rà soát TTHC đủ điều kiện\n    period: once\n    deadline: 2026-12-20\n")
    periods = load_config(config_dir).periods
    assert [(p.key, p.due.isoformat()) for p in periods][-1] == ("yc-ra-soat-tthc", "2026-12-20")


@pytest.mark.parametrize("change, expected", [
    (("plan.yaml", "    - 2026-08-31 ", "    - 2026-02-30 "),
     ("plan.yaml", "2026-02-30", "calendar › extra_days_off › mục thứ 1: '2026-02-30' không phải ngày hợp lệ (viết YYYY-MM-DD)")),
    (("units.yaml", "    name: Thanh tra Sở", "\tname: Thanh tra Sở"),
     ("units.yaml", "\tname: Thanh tra Sở", "có ký tự Tab: YAML chỉ thụt lề bằng dấu cách")),
    (("units.yaml", "email: thanhtra.daumoi@example.org", 'email: "thanhtra.daumoi@example.org'),
     ("units.yaml", '"thanhtra.daumoi', "thiếu dấu nháy đóng cho chuỗi mở ở dòng này")),
    (("units.yaml", "obligations: [quy]", "obligations: [quy"),
     ("units.yaml", "obligations: [quy", "thiếu dấu đóng ] hoặc } cho danh sách mở ở dòng này")),
    (("units.yaml", "    name: Thanh tra Sở", "     name: Thanh tra Sở"),
     ("units.yaml", "     name: Thanh tra Sở", "thụt lề không khớp với các dòng trên: dòng này thụt vào sâu hơn dòng <code: TTRA>")),
    (("units.yaml", "    name: Thanh tra Sở", "    name: @Thanh tra Sở"),
     ("units.yaml", "@Thanh tra", "ký tự '@' không được đứng đầu một giá trị; đặt cả giá trị trong dấu nháy")),
    (("units.yaml", "    name: Thanh tra Sở", "    name: !ten Thanh tra Sở"),
     ("units.yaml", "!ten Thanh tra", "thẻ '!ten' không dùng trong tệp cấu hình; xoá thẻ, chỉ để giá trị")),
])
def test_syntax_errors_and_impossible_dates_point_at_the_line_in_vietnamese(config_dir, change, expected):
    name, old, new = change
    edit(config_dir / name, old, new)
    file, needle, message = expected
    path = config_dir / file
    if "<code: TTRA>" in message:
        message = message.replace("<code: TTRA>", str(line_of(path, "code: TTRA")))
    errs = errors(config_dir)
    assert len(errs) == 1
    assert errs[0].startswith(f"{path}:{line_of(path, needle)}: ") and errs[0].endswith(message)


def test_empty_and_non_utf8_files_are_named(config_dir):
    units = config_dir / "units.yaml"
    units.write_bytes(b"")
    assert errors(config_dir) == [f"{units}: tệp rỗng"]
    units.write_bytes("# Đơn vị\nunits: []\n".encode("cp1258", "replace"))  # as an old Windows editor may save
    assert errors(config_dir) == [f"{units}:1: tệp không phải UTF-8 (có thể đã lưu bằng mã Windows); "
                                  "mở tệp và lưu lại với mã hoá UTF-8"]


# ---------------------------------------------------------------- issue 10: as an admin reads them

def test_entries_are_named_by_code_name_or_1_based_ordinal_in_both_files(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(plan, "{kind: overdue, working_days_after: 3, cc_head: true}", "{kind: overdue, working_days_after: 3, cc_head: yes}")
    edit(plan, "    - Lãnh đạo Sở\n", '    - ""\n')
    edit(plan, "  - id: so_hoa\n    name: Hồ sơ", "  - id: so hoa\n    name: Hồ sơ")
    edit(units, "  - code: KHTC", "  - code: 12")
    edit(units, "      - name: Vũ Thị Lan Anh", "      - name:")
    edit(units, 'phone: "0222 3855 xxx"', "phone: 0222.3855")
    assert errors(config_dir) == [
        f"{plan}:{line_of(plan, '- ' + chr(34) * 2)}: organisation › recipients › mục thứ 2: không được để trống",
        f"{plan}:{line_of(plan, 'cc_head: yes')}: reminders › bước nhắc thứ 5 (overdue) › cc_head: 'yes' không hợp lệ: "
        "chỉ dùng true hoặc false",
        f"{plan}:{line_of(plan, 'tu_thao_tac, so_hoa')}: nghĩa vụ quy › indicators › mục thứ 5: chỉ tiêu 'so_hoa' chưa "
        "được định nghĩa trong indicators",
        f"{plan}:{line_of(plan, 'id: so hoa')}: chỉ tiêu so hoa › id: 'so hoa' chỉ được gồm chữ cái không dấu, chữ số, "
        "'-', '_' và '.'",
        f"{plan}:{line_of(plan, 'indicators: [so_hoa,')}: đề mục so_hoa › indicators › mục thứ 1: chỉ tiêu 'so_hoa' "
        "chưa được định nghĩa trong indicators",
        f"{units}:{line_of(units, 'phone: 0222.3855')}: đơn vị BPMC › đầu mối Nguyễn Văn An › phone: 0222.3855 được YAML "
        'đọc là số, không phải chữ: đặt trong dấu nháy (phone: "0222.3855")',
        # no usable code: the ordinal, and the name to recognise it by
        f"{units}:{line_of(units, 'code: 12')}: đơn vị thứ 3 (Phòng Kế hoạch - Tài chính) › code: 12 được YAML đọc là "
        'số, không phải chữ: đặt trong dấu nháy (code: "12")',
        f"{units}:{line_of(units, 'tccb.daumoi') - 1}: đơn vị TCCB › đầu mối thứ 1 (tccb.daumoi@example.org) › name: chưa có "
        "giá trị: cần một dòng chữ",
    ]


def test_messages_point_to_the_other_entry_by_name_and_line(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "{kind: overdue, working_days_after: 3, cc_head: true}", "{kind: overdue, working_days_after: 1}")
    edit(plan, "  # - id: yc-ra-soat-tthc\n  #   title: Báo cáo rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình\n"
               "  #   period: once\n",
         "  - id: quy-2\n    title: Báo cáo quý bổ sung\n    period: quarter\n    due: {month: last, day: 10}\n")
    second = line_of(plan, "working_days_after: 1}")
    assert errors(config_dir) == [
        f"{plan}:{second}: reminders › bước nhắc thứ 5 (overdue): bước nhắc trùng với bước nhắc thứ 4 (overdue) ở dòng "
        f"{second - 1}",
        f"{plan}:{second}: reminders › bước nhắc thứ 5 (overdue): trùng ngày gửi với bước nhắc thứ 4 (overdue) ở dòng "
        f"{second - 1}",
        f"{plan}:{line_of(plan, 'id: quy-2')}: nghĩa vụ quy-2 › key_prefix: trùng kỳ báo cáo với nghĩa vụ quy ở dòng "
        f"{line_of(plan, 'id: quy')}; đặt key_prefix khác nhau",
    ]


def test_the_code_as_written_012_not_12_and_a_quoted_one_is_fine(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "code: TTRA", "code: 012")
    assert errors(config_dir) == [
        f"{units}:{line_of(units, 'code: 012')}: đơn vị thứ 2 (Thanh tra Sở) › code: 012 được YAML đọc là số, không phải "
        'chữ: đặt trong dấu nháy (code: "012")']
    edit(units, "code: 012", 'code: "012"')
    assert load_config(config_dir).unit("012").name == "Thanh tra Sở"


def test_a_syntax_error_in_one_file_hides_nothing_in_the_other(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(units, "    name: Thanh tra Sở", "      name: Thanh tra Sở")
    edit(plan, 'target: "> 95%"', 'target: "> 101%"')
    edit(plan, "  place: Bắc Ninh", "  place: Bắc Ninh\n  plcae: Bắc Ninh")
    assert errors(config_dir) == [
        f"{plan}:{line_of(plan, 'plcae')}: organisation › plcae: khoá không được phép (gõ nhầm tên khoá?)",
        f"{plan}:{line_of(plan, '> 101%')}: chỉ tiêu hai_long › target: mục tiêu 101% nằm ngoài khoảng 0–100%",
        f"{units}:{line_of(units, 'name: Thanh tra Sở')}: thụt lề không khớp với các dòng trên: dòng này thụt vào sâu "
        f"hơn dòng {line_of(units, 'code: TTRA')}",
    ]
    # and the other way round: units.yaml is still validated (its references to plan.yaml cannot be)
    edit(units, "      name: Thanh tra Sở", "    name: Thanh tra Sở")
    edit(units, "email: khtc.daumoi@example.org", "email: abc")
    edit(plan, "  place: Bắc Ninh\n  plcae: Bắc Ninh", "   place: Bắc Ninh")
    assert errors(config_dir) == [
        f"{plan}:{line_of(plan, 'place: Bắc Ninh')}: thụt lề không khớp với các dòng trên: dòng này thụt vào sâu hơn "
        f"dòng {line_of(plan, 'office_abbreviation')}",
        f"{units}:{line_of(units, 'email: abc')}: đơn vị KHTC › đầu mối Phạm Thu Hà › email: 'abc' không phải địa chỉ "
        "email hợp lệ",
    ]


INDENT = ("thụt lề không khớp với các dòng trên: các khoá (và các mục '- ') cùng cấp phải thẳng cột, cùng số dấu cách "
          "đầu dòng")


@pytest.mark.parametrize("old, new, needle, message", [
    # a key indented less than its siblings
    ("    name: Thanh tra Sở", "   name: Thanh tra Sở", "   name: Thanh tra Sở", INDENT),
    # a list item indented more than the ones above
    ("  - code: TTRA", "   - code: TTRA", "- code: TTRA", INDENT),
    ("    name: Thanh tra Sở", "    name: Thanh tra: Sở", "Thanh tra: Sở",
     "giá trị có dấu ':' phải đặt trong dấu nháy, ví dụ: \"Giờ: 08:00\""),
    ("    name: Thanh tra Sở", "    name Thanh tra Sở", "name Thanh tra Sở", "thiếu dấu ':' sau tên khoá"),
    ("    name: Thanh tra Sở", '    name: "Thanh tra\\Sở"', "Thanh tra\\Sở",
     "chuỗi trong dấu nháy kép có dấu '\\' không hợp lệ; dùng dấu nháy đơn ('C:\\Users') hoặc viết '\\\\'"),
    ("    name: Thanh tra Sở", "    name: *Thanh tra Sở", "*Thanh tra",
     "ký tự '*' hoặc '&' ở đầu giá trị có nghĩa riêng trong YAML (bí danh); đặt cả giá trị trong dấu nháy"),
    ("    name: Thanh tra Sở", "    name: | Thanh tra Sở", "| Thanh tra",
     "sau dấu | hoặc > chỉ được xuống dòng (nội dung viết từ dòng sau, thụt vào)"),
])
def test_yaml_syntax_errors_are_explained_in_vietnamese_at_their_line(config_dir, old, new, needle, message):
    units = config_dir / "units.yaml"
    edit(units, old, new)
    assert errors(config_dir) == [f"{units}:{line_of(units, needle)}: {message}"]


@pytest.mark.parametrize("nested", [
    "obligations: " + "[" * 20_000 + "]" * 20_000,
    "obligations:\n" + "".join(" " * (6 + 2 * i) + "-\n" for i in range(200)),
])
def test_deeply_nested_yaml_is_refused_at_its_line(config_dir, nested):
    units = config_dir / "units.yaml"
    edit(units, "obligations: [quy]", nested)
    line = line_of(units, "obligations:")
    # the first level past 50: units, a unit, its obligations and 47 lists inside
    deep = line if nested.startswith("obligations: [") else line + 48
    assert errors(config_dir) == [f"{units}:{deep}: các khối lồng nhau quá sâu (hơn 50 cấp) từ dòng này; tệp chỉ cần "
                                  "vài cấp: kiểm tra các dấu [ và { chưa đóng, và thụt lề"]


def test_an_alias_loop_or_an_alias_bomb_is_refused(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "obligations: [quy]", "obligations: &vong [*vong]")
    assert errors(config_dir) == [f"{units}:{line_of(units, '&vong')}: một bí danh (*…) trỏ về chính khối chứa nó "
                                  "(lồng vô hạn); viết thẳng các giá trị"]
    bomb = "".join(f"x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 10)}]\n" for n in range(1, 7))
    units.write_text("x0: &x0 [quy]\n" + bomb, encoding="utf-8")
    assert errors(config_dir) == [f"{units}:6: các bí danh (*…) ở đây nhân lên thành hơn 100.000 giá trị; viết thẳng "
                                  "các giá trị, không dùng bí danh"]


def test_submit_yaml_nested_too_deep_is_a_message_at_its_line(tmp_path, shipped_config):
    from scheduler.collect import workbook

    report = tmp_path / "bao-cao.yaml"
    report.write_text("submitted_by: Hà Thị Thu Trang\nindicators:\n  so_hoa: " + "{a: " * 20_000 + "1" + "}" * 20_000
                      + "\n", encoding="utf-8")
    with pytest.raises(workbook.ImportError_) as caught:
        workbook.read_yaml(report, shipped_config, shipped_config.period("2026-Q4"), "TTBVTV")
    assert [str(p) for p in caught.value.problems] == [
        f"{report}:3: các khối lồng nhau quá sâu (hơn 50 cấp) từ dòng này; tệp chỉ cần vài cấp: kiểm tra các dấu [ và "
        "{ chưa đóng, và thụt lề"]


def check_config_process(config_dir) -> subprocess.CompletedProcess:
    """`baocao check-config` as an admin runs it: a real process, run away from the source folder."""
    env = dict(os.environ, BAOCAO_CONFIG_DIR=str(config_dir), BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"))
    return subprocess.run([sys.executable, "-m", "scheduler", "check-config"],
                          cwd=config_dir.parent, env=env, capture_output=True, text=True, timeout=120)


def test_check_config_process_refuses_200_000_levels_of_brackets_without_a_traceback(config_dir):
    units = config_dir / "units.yaml"
    edit(units, "obligations: [quy]", "obligations: " + "[" * 200_000 + "]" * 200_000)  # libyaml alone: a segfault
    run = check_config_process(config_dir)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr.splitlines() == [
        "Cấu hình có 1 lỗi, cần sửa trước khi chạy:",
        f"  {units}:{line_of(units, 'obligations: [[')}: các khối lồng nhau quá sâu (hơn 50 cấp) từ dòng này; tệp chỉ "
        "cần vài cấp: kiểm tra các dấu [ và { chưa đóng, và thụt lề",
    ]


def test_check_config_process_explains_an_indentation_error_and_still_checks_the_other_file(config_dir):
    units, plan = config_dir / "units.yaml", config_dir / "plan.yaml"
    edit(units, "    name: Thanh tra Sở", "      name: Thanh tra Sở")
    edit(plan, "section: proposals", "section: proposal")
    run = check_config_process(config_dir)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr.splitlines() == [
        "Cấu hình có 2 lỗi, cần sửa trước khi chạy:",
        f"  {plan}:{line_of(plan, 'section: proposal')}: đề mục de_xuat › section: 'proposal' không hợp lệ; chọn một "
        "trong: 'results', 'good_practices', 'shortcomings', 'next_steps', 'proposals'",
        f"  {units}:{line_of(units, 'name: Thanh tra Sở')}: thụt lề không khớp với các dòng trên: dòng này thụt vào sâu "
        f"hơn dòng {line_of(units, 'code: TTRA')}",
    ]
    assert unicodedata.is_normalized("NFC", run.stderr)
