"""The report's chart (pure): what the reader sees depends on how many bars share the width."""

from __future__ import annotations

from lxml import etree

from scheduler.report.chart import Bar, Titles, chart_xml

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
TITLES = Titles("Tỷ lệ (%)", "Chỉ tiêu", "Đạt", "Chưa đạt", "Chưa có số liệu", "Mục tiêu")


def labels(xml: bytes) -> dict[tuple[str, int], dict]:
    """{(series, point): {text, position, colour, upright}} for every bar label."""
    out = {}
    for ser in etree.fromstring(xml).iter(C + "ser"):
        name = ser.find(f"{C}tx//{C}v").text
        for lbl in ser.iter(C + "dLbl"):
            run = lbl.find(f"{C}tx//{A}r")
            out[(name, int(lbl.find(C + "idx").get("val")))] = {
                "text": run.find(A + "t").text, "position": lbl.find(C + "dLblPos").get("val"),
                "colour": run.find(f"{A}rPr/{A}solidFill/{A}srgbClr").get("val"),
                "upright": lbl.find(f"{C}tx/{C}rich/{A}bodyPr").get("rot") == "-5400000"}
    return out


def marker_size(xml: bytes) -> int:
    return int(etree.fromstring(xml).find(f".//{C}marker/{C}size").get("val"))


def test_a_missed_target_puts_the_label_inside_its_bar_when_it_fits():
    bars = [Bar("1", 90.4, 100, False, "90,4%"), Bar("2", 8.0, 100, False, "8%"), Bar("3", 96.0, 90, True, "96%")]
    seen = labels(chart_xml(bars, TITLES))
    assert seen[("Chưa đạt", 0)] == {"text": "90,4%", "position": "inEnd", "colour": "FFFFFF", "upright": False}
    assert seen[("Chưa đạt", 1)]["position"] == "outEnd" and seen[("Chưa đạt", 1)]["colour"] == "000000"  # too short
    assert seen[("Đạt", 2)]["position"] == "outEnd"


def test_a_label_wider_than_its_bar_stays_above_it_in_black():
    # eleven bars: "99,99%" (the extra decimals printed beside a missed "= 100%") is wider than one
    bars = [Bar(str(n), 99.99 if n == 1 else 100.0, 100, n != 1, "99,99%" if n == 1 else "100%") for n in range(1, 12)]
    first = labels(chart_xml(bars, TITLES))[("Chưa đạt", 0)]
    assert first["position"] == "outEnd" and first["colour"] == "000000" and not first["upright"]


def test_with_many_indicators_labels_stand_upright_and_the_dash_narrows():
    few = [Bar(str(n), 92.3, 95, False, "92,3%") for n in range(1, 12)]
    many = [Bar(str(n), 92.3, 95, False, "92,3%") for n in range(1, 26)]
    assert not any(v["upright"] for v in labels(chart_xml(few, TITLES)).values())
    upright = labels(chart_xml(many, TITLES))
    assert len(upright) == 25 and all(v["upright"] for v in upright.values())
    assert all(v["position"] == "inEnd" for v in upright.values())  # tall red bars hold their upright label
    assert marker_size(chart_xml(many, TITLES)) < marker_size(chart_xml(few, TITLES)) <= 16
    axis_max = etree.fromstring(chart_xml(many, TITLES)).find(f".//{C}valAx/{C}scaling/{C}max").get("val")
    assert float(axis_max) >= 120  # room above the bars for an upright "100%"
