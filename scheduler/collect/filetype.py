"""What a file is, judged by its content (zip members, magic bytes), not its name: a Word
document, a PDF or an .xls given by mistake is named as such, with what to do instead."""

from __future__ import annotations

import zipfile
from pathlib import Path


# ---- what a file is, by its content

_OFFICE_ADVICE = ("nếu đây là văn bản báo cáo của đơn vị, hãy gõ lại số liệu vào tệp YAML (xem README, mục "
                  "“Đơn vị nộp báo cáo”), hoặc đề nghị đơn vị điền mẫu XLSX tạo bằng `baocao template`")
_RESAVE = ("mở tệp bằng Excel hoặc LibreOffice, chọn Lưu thành (Save As) dạng “Excel Workbook (.xlsx)” "
           "rồi nhập lại tệp .xlsx đó")
NOT_OURS = "không phải bảng tính XLSX hay tệp YAML"


def sniff(path: Path) -> tuple[str, str]:
    """("xlsx", ""), ("text", "") or ("other", what the file looks like and what to do). Judged
    by the content: a Word document renamed .xlsx is still a Word document."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    if not head:
        return "other", "tệp rỗng (0 byte); có thể tệp chưa tải xong hoặc chép nhầm, hãy lấy lại tệp"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Office 97–2003 or an encrypted OOXML
        data = head + path.read_bytes()[8192:2_000_000] if path.stat().st_size > 8192 else head

        def has(name: str) -> bool:
            return name.encode("utf-16-le") in data

        if has("EncryptedPackage"):
            return "other", ("bảng tính (hoặc tài liệu Office) được đặt mật khẩu, không đọc được; mở bằng Excel, bỏ "
                             "mật khẩu (Tệp › Thông tin › Bảo vệ sổ làm việc › Mã hoá bằng mật khẩu, xoá mật khẩu), "
                             "lưu lại rồi nhập lại")
        if has("Workbook") or has("Book"):
            return "other", f"bảng tính Excel 97–2003 (.xls), {NOT_OURS}; {_RESAVE}"
        if has("WordDocument"):
            return "other", f"tài liệu Word 97–2003 (.doc), {NOT_OURS}; {_OFFICE_ADVICE}"
        return "other", f"tệp Office 97–2003 (không phải .xlsx), {NOT_OURS}; {_RESAVE}"
    for magic, what in ((b"%PDF-", "tài liệu PDF"), (b"\x89PNG", "ảnh PNG"), (b"\xff\xd8\xff", "ảnh JPEG"),
                        (b"GIF8", "ảnh GIF"), (b"II*\x00", "ảnh TIFF"), (b"MM\x00*", "ảnh TIFF"),
                        (b"{\\rtf", "văn bản RTF")):
        if head.startswith(magic):
            return "other", f"{what}, {NOT_OURS}; {_OFFICE_ADVICE}"
    for magic, what in ((b"Rar!", "tệp nén RAR"), (b"7z\xbc\xaf\x27\x1c", "tệp nén 7z"), (b"\x1f\x8b", "tệp nén gzip")):
        if head.startswith(magic):
            return "other", f"{what}, {NOT_OURS}; giải nén rồi nhập tệp báo cáo bên trong"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "other", ("tệp văn bản mã hoá UTF-16, không đọc được như tệp YAML; mở bằng trình soạn thảo (Notepad, "
                         "VS Code…) và lưu lại với mã hoá UTF-8")
    if b"\x00" in head:
        return "other", f"tệp nhị phân không rõ loại, {NOT_OURS}; kiểm tra lại đúng tệp cần nhập chưa"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        return "other", (f"trang web (HTML) — có thể là tệp “Excel” tải về từ một phần mềm khác —, {NOT_OURS}; "
                         f"{_RESAVE}")
    if start.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            return "other", f"bảng tính Excel 2003 XML, {NOT_OURS}; {_RESAVE}"
        return "other", f"tệp XML, {NOT_OURS}; {_OFFICE_ADVICE}"
    return "text", ""


def _sniff_zip(path: Path) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError):
        return "other", ("tệp nén ZIP (có thể là bảng tính XLSX) bị hỏng hoặc chưa tải xong, không mở được; "
                         "lấy lại tệp, hoặc mở bằng Excel và lưu lại")
    members = set(names)
    if "xl/workbook.xml" in members:
        return "xlsx", ""
    if "xl/workbook.bin" in members:
        return "other", f"bảng tính Excel dạng nhị phân (.xlsb), {NOT_OURS}; {_RESAVE}"
    if "word/document.xml" in members:
        return "other", f"tài liệu Word (.docx), {NOT_OURS}; {_OFFICE_ADVICE}"
    if "ppt/presentation.xml" in members:
        return "other", f"bản trình chiếu PowerPoint (.pptx), {NOT_OURS}; {_OFFICE_ADVICE}"
    if mimetype == "application/vnd.oasis.opendocument.spreadsheet":
        return "other", f"bảng tính OpenDocument (.ods, của LibreOffice), {NOT_OURS}; {_RESAVE}"
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        return "other", f"tài liệu OpenDocument (.odt, của LibreOffice), {NOT_OURS}; {_OFFICE_ADVICE}"
    shown = ", ".join(names[:5]) + (f" và {len(names) - 5} tệp khác" if len(names) > 5 else "")
    return "other", (f"tệp nén ZIP (chứa: {shown or 'không có tệp nào'}), {NOT_OURS}; giải nén rồi nhập "
                     "tệp báo cáo bên trong")


def name_note(path: Path, kind: str) -> str:
    suffix = path.suffix.lower()
    if kind == "xlsx" and suffix not in (".xlsx", ".xlsm"):
        return f"Lưu ý: tệp {path} là bảng tính XLSX (dù tên có đuôi “{path.suffix}”), đã đọc như mẫu XLSX."
    if kind == "text" and suffix in (".xlsx", ".xlsm", ".xls"):
        return f"Lưu ý: tệp {path} là tệp văn bản, không phải bảng tính (dù tên có đuôi “{path.suffix}”), đã đọc như tệp YAML/JSON."
    return ""
