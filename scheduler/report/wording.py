"""How the report words its values, the way a Vietnamese clerk writes them: numbers and
percentages in Vietnamese style, trends, the date line, sentence case, the period's name."""


import math
import re
from datetime import date


from scheduler.policy.periods import ROMAN, Period
from scheduler.config.model import Indicator, Target
from scheduler.report.consolidate import Ratio
from scheduler.text import CONTROL, decimal_comma, document_month, number, without_marks




def clean(text: str) -> str:
    """XML 1.0 forbids most control characters: python-docx raises and docxtpl may drop text."""
    return CONTROL.sub("", text)


def percent(value: float, target: Target | None = None) -> str:
    """92.345 → '92,3%', 100 → '100%'. Rounded as people expect, but with more decimals where
    one would cross the target: 99,96% against "= 100%" must not print as "100%" beside
    "Chưa đạt", nor 95,04% against "> 95%" as "95%" beside "Đạt"."""
    decimals, shown = 1, round(value, 1)
    while target is not None and target.met(shown) != target.met(value) and decimals < 4:
        decimals += 1
        shown = math.floor(value * 10**decimals) / 10**decimals if value < target.percent else round(value, decimals)
    text = f"{shown:.{decimals}f}"
    if decimals == 1 and text.endswith(".0"):
        text = text[:-2]
    return f"{decimal_comma(text)}%"


def ratio_text(ratio: Ratio | None, target: Target | None = None) -> str:
    return "—" if ratio is None else f"{percent(ratio.percent, target)} ({number(ratio.num)}/{number(ratio.den)})"


def amount(value: float) -> str:
    """A count or a mean as a clerk writes it: 1.234; 12,5."""
    if abs(value - round(value)) < 0.05:
        return number(int(round(value)))
    return decimal_comma(f"{value:.1f}")


def measure_text(indicator: Indicator, ratio: Ratio | None, target: Target | None = None) -> str:
    """A result in its kind's words: "93,6% (4.395/4.694)", "128 tin, bài", "18,5 phút/lượt"."""
    if ratio is None:
        return "—"
    if indicator.kind == "ratio":
        return ratio_text(ratio, target)
    value = indicator.value({"num": ratio.num, "den": ratio.den} if ratio.den is not None else {"num": ratio.num})
    return "—" if value is None else f"{amount(value)} {indicator.unit or ''}".strip()


def trend_text(change: float | None, indicator: Indicator | None = None) -> str:
    """The change since the previous period: percentage points for a ratio, the unit's own
    amount for a count or a mean."""
    if change is None:
        return "—"
    if abs(change) < 0.05:
        return "Không đổi"
    word = "Tăng" if change > 0 else "Giảm"
    if indicator is not None and indicator.kind != "ratio":
        return f"{word} {amount(abs(change))} {indicator.unit or ''}".strip()
    points = decimal_comma(f"{abs(change):.1f}")
    return f"{word} {points} điểm phần trăm"


def date_line(place: str, today: date) -> str:
    """Place and date, the day left blank for the registry clerk."""
    return f"{place}, ngày      tháng {document_month(today)} năm {today.year}"


def balanced_lines(text: str, width: int = 24) -> str:
    """A heading too long for its cell, split at the space nearest the middle (as clerks set
    "SỞ NÔNG NGHIỆP / VÀ MÔI TRƯỜNG"), rather than leaving one word alone on the second line."""
    text = text.upper()
    if len(text) <= width or " " not in text:
        return text
    middle = len(text) / 2
    cut = min((i for i, c in enumerate(text) if c == " "), key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


# One Vietnamese syllable, written without its tone marks: initial consonants, vowels, final
# consonants. An upper-case word that is not one (TTHC, DVC, UBND, CNTT) is an acronym.
_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?[aăâeêioôơuưy]+"
                       r"(?:ch|ng|nh|[cmnpt])?")


def _is_acronym(word: str) -> bool:
    return word.isupper() and _SYLLABLE.fullmatch(without_marks(word.lower())) is None


def sentence_case(text: str) -> str:
    """A title for the trích yếu: capital first letter. A title typed all in capitals is
    lowered word by word, acronyms kept ("RÀ SOÁT TTHC" → "Rà soát TTHC"); any other title
    keeps its own case (str.capitalize() would make "TTHC" "tthc")."""
    if text.isupper():
        text = re.sub(r"\w+", lambda m: m.group(0) if _is_acronym(m.group(0)) else m.group(0).lower(), text)
    return text[:1].upper() + text[1:]


def period_phrase(period: Period) -> str:
    """'Quý IV/2026' → 'quý IV năm 2026' for the trích yếu; a year or a month in lower case
    inside a sentence ('năm 2026', 'tháng 11/2026'); other titles as they are."""
    if period.kind == "quarter":
        return f"quý {ROMAN[(period.start.month - 1) // 3 + 1]} năm {period.start.year}"
    if period.kind in ("year", "month"):
        return period.title[0].lower() + period.title[1:]
    return period.title


def inside_sentence(name: str) -> str:
    """"Sở, ban, ngành" → "sở, ban, ngành" after another word; "UBND xã, phường" keeps its acronym."""
    return name[0].lower() + name[1:] if name[:1].isupper() and name[1:2].islower() else name
