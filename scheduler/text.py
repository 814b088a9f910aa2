"""Vietnamese wording shared by the CLI, the mails and the report."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

# A unit's standing in a period, worded for each place it shows: a sentence (`status`, the
# office's page), a table cell (exports, the office's table), and the report the Sở signs,
# where a unit that sent nothing "chưa báo cáo".
STATE_LABELS = {"on_time": "Đã nộp đúng hạn", "late": "Nộp muộn", "missing": "Chưa nộp"}
STATE_SHORT = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa nộp"}
REPORT_STATE = STATE_SHORT | {"missing": "Chưa báo cáo"}
# Where a send stands in the ledger.
SEND_STATUS_LABELS = {"pending": "chờ gửi", "sending": "đang gửi", "sent": "đã gửi", "failed": "LỖI",
                      "cancelled": "đã huỷ"}

KIND_LABELS = {
    "notice": "Thông báo",
    "reminder": "Nhắc hạn",
    "overdue": "Quá hạn",
    "digest": "Tổng hợp cho VP",
    "receipt": "Xác nhận đã nhận",
    "report": "Báo cáo tổng hợp",
    "approval": "Xin Thủ trưởng duyệt",
    "returned": "Trả lại để sửa",
}


def weekday(d: date) -> str:
    return WEEKDAYS[d.weekday()]


def long_date(d: date) -> str:
    """'Thứ Bảy, 05/12/2026'"""
    return f"{weekday(d)}, {d:%d/%m/%Y}"


def short_datetime(dt: datetime) -> str:
    """'08:00 Thứ Sáu 20/11/2026'"""
    return f"{dt:%H:%M} {weekday(dt.date())} {dt:%d/%m/%Y}"


def remaining(due: date, today: date, late: str = "đã quá hạn") -> str:
    """How long is left before a deadline at 00:00 on `due`, or how late it is, in words.
    `late` words the other side: to the office, whose deadline it is not, "đã qua hạn"."""
    days = (due - today).days
    if days >= 2:
        return f"còn {days} ngày"
    if days == 1:
        return "hôm nay là ngày cuối cùng"
    return f"{late} {1 - days} ngày"


def requirement(required: bool | str) -> str:
    """How a narrative heading's `required` reads beside its title ("" when optional)."""
    if required == "below_target":
        return "bắt buộc khi có chỉ tiêu chưa đạt"
    return "bắt buộc" if required else ""


def document_month(d: date) -> str:
    """The month as NĐ30 writes it in a document's date: months 1 and 2 take a leading 0."""
    return f"{d.month:02d}" if d.month < 3 else str(d.month)


def without_marks(text: str) -> str:
    """Vietnamese letters without their diacritics, đ as d: for sorting and matching."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


# Characters that are invalid in XML 1.0 (the DOCX) or mean nothing in a report's text; tab
# and newline stay (PITFALLS: strip them when data comes in, and again when writing XML).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


# A header (subject, name) must be one line: every control character, tab and newline
# included, becomes a space there.
HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def decimal_comma(text: str) -> str:
    """A number already formatted, with the Vietnamese decimal comma: '2.5' → '2,5'."""
    return text.replace(".", ",")


def number(n: int) -> str:
    """Vietnamese digit grouping: 1234567 → '1.234.567'."""
    return f"{n:,}".replace(",", ".")


# What the operating system says, in Vietnamese: its own strerror is English whatever the locale.
_OS_ERRORS = {
    "EACCES": "không có quyền", "EPERM": "không được phép", "ENOENT": "không có tệp hoặc thư mục này",
    "EROFS": "ổ đĩa chỉ đọc", "ENOSPC": "hết chỗ trên ổ đĩa", "EDQUOT": "hết hạn mức dung lượng",
    "EEXIST": "đã có tệp cùng tên", "ENOTDIR": "một phần của đường dẫn không phải thư mục",
    "EISDIR": "đây là thư mục", "EADDRINUSE": "cổng đang được chương trình khác dùng",
    "EADDRNOTAVAIL": "máy này không có địa chỉ đó", "ECONNREFUSED": "máy chủ từ chối kết nối",
    "ETIMEDOUT": "hết thời gian chờ", "EHOSTUNREACH": "không tới được máy chủ", "ENAMETOOLONG": "tên tệp quá dài",
}


def os_error(exc: OSError) -> str:
    """An OSError as a person reads it: the Vietnamese for its errno, else what Python says."""
    import errno

    name = errno.errorcode.get(exc.errno or -1, "")
    return _OS_ERRORS.get(name) or exc.strerror or str(exc)


# What a unit writes when it has nothing to say under a heading.
NOTHING_SAID = {"khong phat sinh", "khong", "khong co", "chua co", "chua phat sinh", "khong co y kien",
                "khong co de xuat", "khong co kien nghi", "khong co de xuat kien nghi", "khong co ton tai",
                "khong co vuong mac", "n a", "na", "kps", "nil", "none", "khong co noi dung"}
_GENERIC = set("kho khan vuong mac ton tai han che nguyen nhan de xuat kien nghi y noi dung gi phat sinh va "
               "moi mo hinh cach lam nhiem vu them khac".split())
# A list marker a unit types at the start of a line: "- ", "• ", "1. ", "a) ", "iv. "
MARKER = re.compile(r"^\s*(?:[-–—•*+●○▪·]+|\(?\d{1,2}[.)]|\(?[a-zđ][.)]|[ivx]{1,4}[.)])\s+", re.IGNORECASE)


# The first words a text that says nothing can start with (NOTHING_SAID, and the denial below).
_NOTHING_STARTS = {phrase.split()[0] for phrase in NOTHING_SAID} | {"don", "khong", "chua"}
_HEAD = 48  # characters enough to read a first word that could be one of those
# Every word a text that says nothing is made of: one word outside them, and the text says something.
_NOTHING_WORDS = {word for phrase in NOTHING_SAID for word in phrase.split()} | {"don", "vi", "khong", "chua", "co",
                                                                               "phat", "sinh"} | _GENERIC


def _bare(text: str) -> str:
    return re.sub(r"[^\w]+", " ", without_marks(text).lower()).strip()


def substantive(text: str) -> bool:
    """Whether a unit's text says something: not empty, not "Không phát sinh." nor "- Không có".
    The report leaves such texts out; the form does not take one where an explanation is owed."""
    text = MARKER.sub("", text.strip())
    if len(text) > _HEAD:
        # A long text is read in full only when its head is made of the words of one that says
        # nothing: a province's report asks this of some 16,000 texts, and taking the marks off
        # every letter of each was most of its time ("Đơn vị đã …" starts like "Đơn vị không
        # phát sinh", so the first word alone sent most of them to the full reading). The head's
        # last word may be cut: it is not looked at.
        words = _bare(text[:_HEAD]).split()[:-1]
        if words and (words[0] not in _NOTHING_STARTS or any(w not in _NOTHING_WORDS for w in words)):
            return True
    return _read_in_full(text)


def _read_in_full(text: str) -> bool:
    """substantive() without its shortcut (`text` without its list marker)."""
    bare = _bare(text)
    if not bare or bare in NOTHING_SAID:
        return False
    # "Không có khó khăn, vướng mắc.", "Đơn vị không phát sinh vướng mắc": a denial in generic
    # words; "Không có máy quét chuyên dụng" is a shortcoming and stays.
    denial = re.fullmatch(r"(?:don vi )?(?:khong|chua) (?:co|phat sinh)((?: \w+)*)", bare)
    return not (denial and set(denial.group(1).split()) <= _GENERIC)


def parse_moment(text: str) -> datetime | None:
    """A moment as the office types it, in Vietnam's time: 'DD/MM/YYYY HH:MM' or 'YYYY-MM-DD HH:MM';
    a date alone means the office's working day opened with it (07:30). None if it is no real
    moment."""
    from zoneinfo import ZoneInfo  # not scheduler.clock: text sits beside it in the layers

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    cleaned = " ".join(text.split())
    for pattern in ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(cleaned, pattern).replace(tzinfo=tz)
        except ValueError:
            continue
        return moment if "%H" in pattern else moment.replace(hour=7, minute=30)
    return None


def report_subject(title: str, one_off: bool = True) -> str:
    """What a report is about, to follow the words "báo cáo" inside a sentence: a request's "Báo
    cáo rà soát TTHC" or "Rà soát TTHC" → "rà soát TTHC" (never "báo cáo Báo cáo rà soát"); a
    period's "Quý IV/2026" stays as it is (`one_off` False)."""
    rest = re.sub(r"^(?:báo cáo)\s+", "", title.strip(), flags=re.IGNORECASE)
    if (one_off or rest != title.strip()) and rest[:2].istitle():  # "Rà soát" → "rà soát"; "TTHC" stays
        rest = rest[0].lower() + rest[1:]
    return rest


_NEXT_PERIOD = re.compile(r"\b(?:quý|6 tháng|sáu tháng|tháng|năm)\s+(?:tiếp theo|tới|sau)\b", re.IGNORECASE)


def one_off_words(text: str) -> str:
    """A heading written for the plan's periods ("Phương hướng, nhiệm vụ quý tiếp theo") as a
    one-off request reads it: "Phương hướng, nhiệm vụ thời gian tới"."""
    return _NEXT_PERIOD.sub("thời gian tới", text)
