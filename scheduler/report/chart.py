"""The report's chart as a native Word chart (DrawingML `c:chartSpace`), not a picture.

Why not a matplotlib PNG: Word draws a native chart in the document's own font at any zoom
and print resolution, the office can restyle it in Word (colours, titles, size) like the rest
of the template, and `baocao report` no longer spends most of its second importing
matplotlib and numpy (bench/report_bench.py). LibreOffice renders it the same way.

The figures live in the chart's caches (`c:strCache`/`c:numCache`); no workbook is embedded,
so Word's "Edit Data" has nothing to open: the figures come from the units, not from typing
in the chart. Every label is written as text, so `92,3%` reads the same whatever the reader's
locale is.

Element order follows the schema (ECMA-376 Part 1, dml-chart.xsd): Word refuses a chart
whose children are out of order.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

GREEN, RED, GREY, INK, RULE = "2F6F3E", "B03A2E", "999999", "000000", "D9D9D9"
FONT = "Times New Roman"
_NS = ('xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
       'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_BAR_AXES, _VALUE_AXIS = ("111", "222"), "222"


@dataclass(frozen=True)
class Bar:
    """One indicator: its category label, result and target in percent, whether it met the
    target (None: nobody reported figures) and the label printed above the bar."""

    category: str
    value: float | None
    target: float
    met: bool | None
    label: str


@dataclass(frozen=True)
class Titles:
    value_axis: str
    category_axis: str
    met: str
    missed: str
    no_figures: str
    target: str


GAP = 35  # space between bars, in % of a bar's width
PLOT_MM = (135, 50)  # the plot area inside the 150 × 80 mm chart, give or take the axis labels
PT_MM = 0.3528
_EM = {",": 0.25, ".": 0.25, "%": 0.833, "—": 1.0}  # Times New Roman; digits are half an em


@dataclass(frozen=True)
class _Layout:
    """Sizes that depend on how many bars share the width: with 25 indicators a 9 pt "100%"
    is wider than its bar, so labels stand upright and the target's dash narrows."""

    label_size: int  # hundredths of a point, as DrawingML counts
    upright: bool
    bar_mm: float
    marker: int  # points
    top: float  # the value axis's maximum


def _text_mm(text: str, size: int) -> float:
    return sum(_EM.get(c, 0.5) for c in text) * size / 100 * PT_MM


def _layout(bars: list[Bar]) -> _Layout:
    slot = PLOT_MM[0] / max(1, len(bars))
    bar = slot / (1 + GAP / 100)
    size = 900 if len(bars) <= 12 else 800
    upright = max((_text_mm(b.label, size) for b in bars), default=0) > slot * 0.95
    headroom = 20 if upright else 10  # upright labels stand taller above their bars
    top = max([100.0 + headroom] + [b.value + headroom for b in bars if b.value is not None])
    return _Layout(size, upright, bar, max(3, min(16, int(bar / PT_MM * 0.8))), top)


def xml_escape(text: str) -> str:
    """Text and attribute values: & < > " ' escaped (html.escape's output is valid XML too,
    and importing it costs nothing next to xml.sax)."""
    return escape(text, quote=True)


def _text_props(size: int, bold: bool = False, rotate: int | None = None, colour: str = INK) -> str:
    body = f'<a:bodyPr rot="{rotate}" vert="horz"/>' if rotate is not None else "<a:bodyPr/>"
    return (f"<c:txPr>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr sz=\"{size}\" b=\"{int(bold)}\">"
            f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
            f'<a:latin typeface="{FONT}"/><a:ea typeface="{FONT}"/><a:cs typeface="{FONT}"/>'
            "</a:defRPr></a:pPr><a:endParaRPr lang=\"vi-VN\"/></a:p></c:txPr>")


def _rich(text: str, size: int, rotate: int | None = None, colour: str = INK) -> str:
    body = f'<a:bodyPr rot="{rotate}" vert="horz"/>' if rotate is not None else "<a:bodyPr/>"
    return (f"<c:rich>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr sz=\"{size}\" b=\"0\">"
            f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></a:defRPr></a:pPr>'
            f'<a:r><a:rPr lang="vi-VN" sz="{size}" b="0"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
            f'<a:latin typeface="{FONT}"/><a:ea typeface="{FONT}"/>'
            f'<a:cs typeface="{FONT}"/></a:rPr><a:t>{xml_escape(text)}</a:t></a:r></a:p></c:rich>')


def _fill(colour: str | None) -> str:
    fill = f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>' if colour else "<a:noFill/>"
    return f"<c:spPr>{fill}<a:ln><a:noFill/></a:ln></c:spPr>"


def _categories(bars: list[Bar]) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{xml_escape(b.category)}</c:v></c:pt>' for i, b in enumerate(bars))
    return (f"<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${len(bars) + 1}</c:f><c:strCache>"
            f'<c:ptCount val="{len(bars)}"/>{points}</c:strCache></c:strRef></c:cat>')


def _values(column: str, values: list[float | None]) -> str:
    """Blank points (None) are left out of the cache, which Word and LibreOffice draw as gaps."""
    points = "".join(f'<c:pt idx="{i}"><c:v>{v:.4f}</c:v></c:pt>' for i, v in enumerate(values) if v is not None)
    return (f"<c:val><c:numRef><c:f>Sheet1!${column}$2:${column}${len(values) + 1}</c:f><c:numCache>"
            f'<c:formatCode>General</c:formatCode><c:ptCount val="{len(values)}"/>{points}'
            "</c:numCache></c:numRef></c:val>")


def _name(column: str, name: str) -> str:
    return (f"<c:tx><c:strRef><c:f>Sheet1!${column}$1</c:f><c:strCache><c:ptCount val=\"1\"/>"
            f"<c:pt idx=\"0\"><c:v>{xml_escape(name)}</c:v></c:pt></c:strCache></c:strRef></c:tx>")


def _inside(bar: Bar, layout: _Layout) -> bool:
    """A bar short of its target has the target's dash just above it, where the label would
    go: its label goes inside the bar's top instead, in white, when the bar is tall and wide
    enough to hold it (white text spilling onto the page would vanish)."""
    if bar.met is not False or not bar.value:
        return False
    length = _text_mm(bar.label, layout.label_size)
    height = bar.value / layout.top * PLOT_MM[1]
    if layout.upright:  # the label runs along the bar
        return length <= height * 0.85 and layout.label_size / 100 * PT_MM <= layout.bar_mm
    return length <= layout.bar_mm * 0.95 and height >= 2.5 * layout.label_size / 100 * PT_MM


def _labels(bars: list[Bar], shown: list[int], layout: _Layout) -> str:
    """Each bar's own text (`92,3%`, `—`), not a number the viewer's locale would format."""
    size, rotate = layout.label_size, (-5400000 if layout.upright else None)

    def one(i: int) -> str:
        inside = _inside(bars[i], layout)
        colour = "FFFFFF" if inside else INK
        return (f'<c:dLbl><c:idx val="{i}"/><c:tx>{_rich(bars[i].label, size, rotate, colour)}</c:tx>'
                f'{_text_props(size, rotate=rotate, colour=colour)}<c:dLblPos val="{"inEnd" if inside else "outEnd"}"/>'
                '<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/><c:showSerName val="0"/>'
                '<c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbl>')

    each = "".join(one(i) for i in shown)
    return (f"<c:dLbls>{each}{_text_props(size, rotate=rotate)}<c:dLblPos val=\"outEnd\"/><c:showLegendKey val=\"0\"/>"
            '<c:showVal val="0"/><c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/>'
            '<c:showBubbleSize val="0"/></c:dLbls>')


def _bar_series(index: int, column: str, name: str, colour: str, bars: list[Bar], which, layout: _Layout) -> str:
    picked = [i for i, b in enumerate(bars) if which(b)]
    values = [(b.value or 0.0) if i in picked else None for i, b in enumerate(bars)]
    return (f'<c:ser><c:idx val="{index}"/><c:order val="{index}"/>{_name(column, name)}{_fill(colour)}'
            f'<c:invertIfNegative val="0"/>{_labels(bars, picked, layout)}{_categories(bars)}{_values(column, values)}</c:ser>')


def _title(text: str, rotate: int | None = None) -> str:
    return f'<c:title><c:tx>{_rich(text, 1000, rotate)}</c:tx><c:overlay val="0"/></c:title>'


def _line(colour: str | None, width_emu: int = 9525) -> str:
    inner = f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>' if colour else "<a:noFill/>"
    return f'<c:spPr><a:ln w="{width_emu}">{inner}</a:ln></c:spPr>'


def chart_xml(bars: list[Bar], titles: Titles) -> bytes:
    """The chart part: one bar per indicator, green when it met its target and red when not,
    with the target as a black dash over it. Indicators nobody reported get a `—` and no bar;
    that series is kept out of the legend, which explains only the colours and the dash."""
    layout = _layout(bars)
    missing = any(b.met is None for b in bars)
    series = [_bar_series(0, "B", titles.met, GREEN, bars, lambda b: b.met is True, layout),
              _bar_series(1, "C", titles.missed, RED, bars, lambda b: b.met is False, layout)]
    if missing:
        series.append(_bar_series(2, "D", titles.no_figures, GREY, bars, lambda b: b.met is None, layout))
    target_index = len(series)
    target = (f'<c:ser><c:idx val="{target_index}"/><c:order val="{target_index}"/>{_name("E", titles.target)}'
              f'<c:spPr><a:ln w="28575"><a:noFill/></a:ln></c:spPr>'
              f'<c:marker><c:symbol val="dash"/><c:size val="{layout.marker}"/><c:spPr><a:solidFill><a:srgbClr val="{INK}"/>'
              f'</a:solidFill><a:ln w="9525"><a:solidFill><a:srgbClr val="{INK}"/></a:solidFill></a:ln></c:spPr>'
              f"</c:marker>{_categories(bars)}{_values('E', [b.target for b in bars])}"
              '<c:smooth val="0"/></c:ser>')
    hidden = '<c:legendEntry><c:idx val="2"/><c:delete val="1"/></c:legendEntry>' if missing else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<c:chartSpace {_NS}>'
        '<c:date1904 val="0"/><c:lang val="vi-VN"/><c:roundedCorners val="0"/>'
        '<c:chart><c:autoTitleDeleted val="1"/><c:plotArea><c:layout/>'
        '<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
        f'{"".join(series)}<c:gapWidth val="{GAP}"/><c:overlap val="100"/>'
        f'<c:axId val="{_BAR_AXES[0]}"/><c:axId val="{_BAR_AXES[1]}"/></c:barChart>'
        '<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>'
        f'{target}<c:marker val="1"/><c:axId val="{_BAR_AXES[0]}"/><c:axId val="{_BAR_AXES[1]}"/></c:lineChart>'
        f'<c:catAx><c:axId val="{_BAR_AXES[0]}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        f'<c:delete val="0"/><c:axPos val="b"/>{_title(titles.category_axis)}'
        '<c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/>'
        f'<c:tickLblPos val="nextTo"/>{_line(INK)}{_text_props(1000)}<c:crossAx val="{_VALUE_AXIS}"/>'
        '<c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/>'
        '<c:noMultiLvlLbl val="0"/></c:catAx>'
        f'<c:valAx><c:axId val="{_VALUE_AXIS}"/><c:scaling><c:orientation val="minMax"/>'
        f'<c:max val="{layout.top:.0f}"/><c:min val="0"/></c:scaling><c:delete val="0"/><c:axPos val="l"/>'
        f'<c:majorGridlines>{_line(RULE)}</c:majorGridlines>{_title(titles.value_axis, -5400000)}'
        '<c:numFmt formatCode="0" sourceLinked="0"/><c:majorTickMark val="out"/><c:minorTickMark val="none"/>'
        f'<c:tickLblPos val="nextTo"/>{_line(INK)}{_text_props(1000)}<c:crossAx val="{_BAR_AXES[0]}"/>'
        '<c:crosses val="autoZero"/><c:crossBetween val="between"/><c:majorUnit val="20"/></c:valAx>'
        '<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr></c:plotArea>'
        f'<c:legend><c:legendPos val="t"/>{hidden}<c:overlay val="0"/>{_text_props(1000)}</c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        '<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>'
        f'{_text_props(1000)}</c:chartSpace>'
    )
    return xml.encode("utf-8")
