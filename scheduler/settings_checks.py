"""Checks on single BAOCAO_* values, each returning what an admin reads when it fails: host
names, folders that must be creatable, files that must be readable, the signing key's file."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from scheduler.text import os_error

MIN_SECRET_LENGTH = 32
LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")  # a DNS label; "_" is seen in internal names


def host_problem(value: str, example: str) -> str | None:
    """Why `value` is not a bare host name or IP address, or None when it is one."""
    if "://" in value:
        host = urlsplit(value).hostname or example
        return f"'{value}' là một URL; chỉ ghi tên máy chủ, ví dụ {host}"
    try:
        ipaddress.ip_address(value.strip("[]"))
        return None
    except ValueError:
        pass
    if ":" in value:
        return f"'{value}' có kèm cổng; chỉ ghi tên máy chủ, ví dụ {value.rsplit(':', 1)[0]}"
    try:
        # A Vietnamese domain name (thư.vn) is fine: it is checked in its ASCII (punycode) form.
        ascii_name = value.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    if not ascii_name or len(ascii_name) > 253 or not all(LABEL.match(p) for p in ascii_name.split(".")):
        return f"'{value}' không phải tên máy chủ hay địa chỉ IP hợp lệ; ví dụ {example}"
    return None


def nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def creatable(path: Path) -> str | None:
    """Why a file at `path` could not be created later, or None."""
    parent = nearest_existing(path.parent)
    if not parent.is_dir():
        return f"không tạo được {path}: {parent} không phải thư mục"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"không tạo được {path}: không có quyền ghi vào thư mục {parent}"
    return None


def readable_file(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"tệp {path} không tồn tại")
    if not path.is_file():
        raise ValueError(f"{path} không phải một tệp")
    if not os.access(path, os.R_OK):
        raise ValueError(f"không có quyền đọc tệp {path}")
    return path


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"tệp {path} không phải văn bản UTF-8") from None
    except OSError as exc:
        raise ValueError(f"không đọc được tệp {path}: {os_error(exc)}") from None


def key_too_short(length: int) -> str:
    return f"phải dài ít nhất {MIN_SECRET_LENGTH} ký tự (hiện có {length})"


def key_file_problem(path: Path) -> str | None:
    """Why the key file (existing or to be created) cannot serve as the signing key, or None."""
    if not path.exists():
        return creatable(path)
    try:
        length = len(read_text(readable_file(path)))
    except ValueError as exc:
        return str(exc)
    if length < MIN_SECRET_LENGTH:
        return (f"khoá trong tệp {path} {key_too_short(length)}; thay bằng khoá dài hơn hoặc xoá tệp để "
                "baocao tự tạo khoá mới (đường dẫn trong thư đã gửi sẽ hết hiệu lực)")
    return None
