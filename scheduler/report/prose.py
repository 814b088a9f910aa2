"""The report's own sentences about the figures and the units' texts, worded as a Vietnamese
clerk words them. Pure: one place for the rules, so that a wording the office questions is
changed here and nowhere else.

- A result against its target: "vượt mục tiêu" when it goes beyond a threshold (≥, >),
  "hoàn thành mục tiêu" when it meets it exactly or stays within a ceiling (=, ≤, <),
  "chưa đạt mục tiêu" with the shortfall otherwise; the target as a clerk writes it
  ("từ 90% trở lên", "trên 95%", "100%", "không quá 30 phút/lượt", "dưới 5%").
- The trend: "so với quý III tăng 2,1 điểm phần trăm" (a ratio), or the unit's own amount.
- A unit's text becomes one paragraph "- <unit>: …": its lines joined, its own list markers
  dropped, so that nothing it wrote reads as the department's own point. A text with nothing
  of substance ("Không phát sinh", "Không có") is left out of the body.
"""

from __future__ import annotations

import contextvars
import unicodedata
from contextlib import contextmanager

from scheduler.config.model import Indicator, Target
from scheduler.policy.periods import ROMAN, Period
from scheduler.report.consolidate import Consolidation, IndicatorResult, Ratio, UnitResult, value_of
from scheduler.report.wording import amount, clean, inside_sentence, percent, trend_text
from scheduler.text import MARKER, decimal_comma, number, substantive


def target_words(target: Target, indicator: Indicator) -> str:
    """"≥ 90%" → "từ 90% trở lên"; "≤ 30" of minutes per visit → "không quá 30 phút/lượt"."""
    value = amount(target.value) + ("%" if target.percent_sign else (f" {indicator.unit}" if indicator.unit else ""))
    return {">=": f"từ {value} trở lên", ">": f"trên {value}", "=": value, "<=": f"không quá {value}",
            "<": f"dưới {value}"}[target.op]


def _points(gap: float, indicator: Indicator) -> str:
    """A gap in the indicator's own terms, with one more decimal where one would show 0."""
    text = f"{gap:.1f}" if gap >= 0.05 else f"{gap:.2f}".rstrip("0")
    shown = decimal_comma(text[:-2] if text.endswith(".0") else text)
    if indicator.kind == "ratio":
        return f"{shown} điểm phần trăm"
    return f"{amount(gap) if gap >= 0.05 else shown} {indicator.unit or ''}".strip()


def verdict(value: float, target: Target, indicator: Indicator) -> str:
    """"vượt mục tiêu (từ 90% trở lên)", "chưa đạt mục tiêu (= 100%), còn thiếu 0,4 điểm phần trăm"."""
    words = target_words(target, indicator)
    if target.met(value):
        beyond = target.op in (">=", ">") and value > target.value + 0.05
        return f"{'vượt' if beyond else 'hoàn thành'} mục tiêu ({words})"
    gap = abs(target.value - value)
    if gap < 0.005:  # "> 95%" and exactly 95%: met the number, not the "more than"
        return f"chưa đạt mục tiêu ({words})"
    if target.op == "=":  # off either way: "còn thiếu" below it, "cao hơn mục tiêu" above it
        how = "còn thiếu" if value < target.value else "cao hơn mục tiêu"
    else:
        how = "còn thiếu" if target.upward else "vượt quá mức tối đa"
    return f"chưa đạt mục tiêu ({words}), {how} {_points(gap, indicator)}"


def previous_words(previous: Period | None, period: Period) -> str:
    """The period a trend compares with: "quý III", "quý IV năm 2025", "năm 2025", "kỳ trước"."""
    if previous is None:
        return "kỳ trước"
    if previous.kind == "quarter":
        quarter = f"quý {ROMAN[(previous.start.month - 1) // 3 + 1]}"
        return quarter if previous.start.year == period.start.year else f"{quarter} năm {previous.start.year}"
    if previous.kind == "year":
        return f"năm {previous.start.year}"
    if previous.kind == "month":
        return "tháng trước"
    if previous.kind == "half_year":
        half = "6 tháng đầu năm" if previous.start.month <= 6 else "6 tháng cuối năm"
        return f"{half} {previous.start.year}"
    return "kỳ trước"


def figure_sentence(result: IndicatorResult, period: Period, previous: Period | None = None) -> str:
    """One indicator's department result as a sentence, ending with a full stop:
    "Toàn Sở tiếp nhận 4.694 hồ sơ, trong đó 4.395 hồ sơ được xử lý trực tuyến, đạt 93,6%,
    vượt mục tiêu (từ 90% trở lên); so với quý III tăng 2,1 điểm phần trăm."
    Without a `sentence` in the config the indicator's name leads: "Hồ sơ xử lý trực tuyến: …";
    a "trong đó" child starts "Trong đó, …"."""
    ind, total, value, target = result.indicator, result.total, result.value, result.target
    if total is None or value is None:
        text = f"{ind.name}: chưa có số liệu"
    elif ind.sentence:
        text = ind.sentence.format(tu_so=number(total.num), mau_so=number(total.den) if total.den is not None else "")
        if ind.kind == "ratio":
            text += f", đạt {percent(value, target)}"
        elif ind.kind == "mean":
            text += f", bình quân {amount(value)} {ind.unit or ''}".rstrip()
    elif ind.kind == "ratio":
        text = f"{ind.name}: {number(total.num)}/{number(total.den or 0)}, đạt {percent(value, target)}"
    else:
        text = f"{ind.name}: {amount(value)} {ind.unit or ''}".rstrip()
    if value is not None and target is not None:
        text += f", {verdict(value, target, ind)}"
    if result.change is not None:
        trend = trend_text(result.change, ind)
        text += f"; so với {previous_words(previous, period)} {trend[:1].lower()}{trend[1:]}"
    if result.depth and not text.casefold().startswith("trong đó"):
        return f"Trong đó, {inside_sentence(text)}."
    return _capital(text) + "."


def heading_opening(results: list[IndicatorResult], period: Period, previous: Period | None = None) -> str:
    """A results heading's first paragraph: the department's figures for its indicators; one
    with no figure from anyone is left out (an empty period would say "chưa có số liệu" eleven
    times), and so is a "trong đó" child whose parent is not said just before it."""
    said: list[str] = []
    shown: set[str] = set()
    for r in results:
        if r.total is None or (r.depth and r.indicator.parent not in shown):
            continue
        shown.add(r.indicator.id)
        said.append(figure_sentence(r, period, previous))
    return " ".join(said)


def _segments(text: str) -> list[str]:
    lines = [clean(unicodedata.normalize("NFC", line)).strip() for line in text.replace("\r", "\n").split("\n")]
    out = []
    for line in lines:
        line = MARKER.sub("", line).strip()
        if line and substantive(line):
            out.append(line)
    return out


_REMEMBERED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("unit_paragraphs", default=None)


@contextmanager
def remembering():
    """Within it, each unit's text is judged and joined once: the body's sections, their counts
    and Phụ lục I each ask for it again (five times a text: at 2,000 units most of the report's
    time). Per render, not for the process: the texts are not kept after the report."""
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def unit_paragraph(unit: str, text: str) -> str | None:
    """"- Phòng Kế hoạch - Tài chính: Tổ chức 3 hội nghị; Đăng 12 tin, bài." — one paragraph per
    unit; None when the text has nothing of substance."""
    memo = _REMEMBERED.get()
    if memo is None:
        return _unit_paragraph(unit, text)
    if (unit, text) not in memo:
        memo[unit, text] = _unit_paragraph(unit, text)
    return memo[unit, text]


def _unit_paragraph(unit: str, text: str) -> str | None:
    segments = [s for s in _segments(text) if s.strip(" ;,.")]
    if not segments:
        return None
    # Joined by "; ", each item in the unit's own case (a guess at lowering would lower "Luật Đất
    # đai" or keep "Ban hành"); a lead-in ending in ":" runs on into its items.
    body = ""
    for n, segment in enumerate(segments):
        segment = segment.lstrip(" ;,.")
        if n:
            body += " " if body.endswith(":") else "; "
        body += segment if n == len(segments) - 1 else segment.rstrip(" .;,")
    body = body.rstrip(" ;,:")
    if not body.endswith((".", "!", "?", "…")):
        body += "."
    return f"- {unit}: {body}"


def unit_paragraphs(entries: list[tuple[str, str]]) -> list[str]:
    return [p for unit, text in entries if (p := unit_paragraph(unit, text)) is not None]


def names(items: list[str], sep: str = ", ") -> str:
    """"A", "A và B", "A, B và C"; units with "; " ("Chi cục Trồng trọt và Bảo vệ thực vật; Chi cục
    Kiểm lâm"), since their names hold commas and "và" of their own."""
    if not items:
        return ""
    if sep != ", ":
        return sep.join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


def _unit_value(indicator: Indicator, ratio: Ratio | None, target: Target | None) -> str:
    value = value_of(indicator, ratio)
    if value is None:
        return ""
    return percent(value, target) if indicator.kind == "ratio" else f"{amount(value)} {indicator.unit or ''}".strip()


# Past this many units below a target the body names only the furthest from it; the appendix,
# where each such value is marked, has them all (147 units made one paragraph of 4.000 characters).
NAMED_BELOW = 10
NAMED_WORST = 5


def below_target_units(result: Consolidation, r: IndicatorResult) -> list[tuple[str, float]]:
    """(unit name with its figure, value) for each unit whose own figure misses the indicator's
    target, in the config's order; none for a count, whose target is the department's total."""
    if r.target is None or r.indicator.kind == "count":
        return []
    found = []
    for unit in result.units:
        value = value_of(r.indicator, unit.ratios.get(r.indicator.id))
        if value is not None and not r.target.met(value):
            found.append((f"{unit.name} ({_unit_value(r.indicator, unit.ratios[r.indicator.id], r.target)})", value))
    return found


def shortfall_paragraphs(result: Consolidation, appendix: str = "Phụ lục") -> list[str]:
    """Tồn tại, hạn chế opens with each indicator below its target: the department's figure,
    the target, the shortfall, and the units below it (the furthest from it when they are many)."""
    out = []
    for r in result.indicators:
        if r.met is not False or r.value is None or r.target is None:
            continue
        # "đạt 87,5% (6.838/7.814)" for a ratio; a count or a mean as it stands: "“…”: 36 phút/lượt"
        lead = (f"Chỉ tiêu “{r.indicator.name}”{' đạt' if r.indicator.kind == 'ratio' else ':'} "
                f"{_unit_value(r.indicator, r.total, r.target)}"
                + (f" ({number(r.total.num)}/{number(r.total.den)})" if r.indicator.kind == "ratio" and r.total
                   and r.total.den else "")
                + f", {verdict(r.value, r.target, r.indicator)}")
        below = below_target_units(result, r)
        if len(below) > NAMED_BELOW:
            worst = sorted(below, key=lambda b: -abs(b[1] - r.target.value))[:NAMED_WORST]
            lead += (f"; {len(below)} đơn vị chưa đạt, xa mục tiêu nhất là {names([n for n, _ in worst], '; ')}"
                     f" (các đơn vị khác tại {appendix})")
        elif below:
            lead += f"; {'đơn vị' if len(below) == 1 else f'{len(below)} đơn vị'} chưa đạt: {names([n for n, _ in below], '; ')}"
        out.append(lead + ".")
    return out


def coverage(result: Consolidation, appendix: str, as_of: str) -> str:
    """"Tính đến ngày 07/12/2026, có 15/19 đơn vị gửi báo cáo (12 đơn vị đúng hạn, 3 đơn vị
    muộn); 4 đơn vị chưa gửi, danh sách tại Phụ lục." — the zero parts left out."""
    total, on_time, late, missing = (len(result.units), len(result.on_time), len(result.late),
                                     len(result.missing))
    reported = on_time + late
    if not total:
        return ""
    if not reported:
        return f"Tính đến ngày {as_of}, chưa có đơn vị nào gửi báo cáo (danh sách {total} đơn vị tại {appendix})."
    parts = [p for p, n in ((f"{on_time} đơn vị đúng hạn", on_time), (f"{late} đơn vị muộn", late)) if n]
    text = f"Tính đến ngày {as_of}, có {reported}/{total} đơn vị gửi báo cáo"
    text += f" ({', '.join(parts)})" if late else (" đúng hạn" if on_time else "")
    if missing:
        text += f"; {missing} đơn vị chưa gửi, danh sách tại {appendix}"
    elif late:
        text += f"; danh sách đơn vị báo cáo muộn tại {appendix}"
    return text + "."


def achievement(mean: float) -> str:
    """A unit's mean achievement: never "100%" unless every target is met in full (99,96% is
    "99,9%", not a rounded "100%" beside 9/11 targets met)."""
    value = 100 * mean
    if value < 100 and round(value, 1) >= 100:
        return decimal_comma(f"{int(value * 10) / 10:.1f}") + "%"
    return percent(value)


def marked(cell: str, met: bool | None) -> str:
    """An appendix value that misses its target carries a mark, explained in the table's note."""
    return f"{cell}*" if met is False else cell


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def unit_met(unit: UnitResult, r: IndicatorResult) -> bool | None:
    value = value_of(r.indicator, unit.ratios.get(r.indicator.id))
    if value is None or r.target is None or r.indicator.kind == "count":
        return None
    return r.target.met(value)
