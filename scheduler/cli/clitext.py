"""click's own words (usage line, error messages, help headings) in Vietnamese.

click marks them for gettext, but a gettext catalogue is only read under a Vietnamese locale,
and the office's VM runs C.UTF-8: so each click module's `_` and `ngettext` is pointed at this
table instead, before any command is defined (click translates some words, such as a path's
metavar, when an option is declared). A string missing here stays in English rather than
breaking; tests/cli/test_cli.py checks what an admin sees.
"""

from __future__ import annotations

import click

VI = {
    "Usage:": "Cách dùng:",
    "Options": "Tuỳ chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Tham số",
    "Show this message and exit.": "Xem hướng dẫn này rồi thoát.",
    "Error: {message}": "Lỗi: {message}",
    "Try '{command} {option}' for help.": "Xem hướng dẫn: {command} {option}",
    "Aborted!": "Đã huỷ.",
    "Missing command.": "Thiếu tên lệnh.",
    "Missing argument": "Thiếu tham số",
    "Missing option": "Thiếu tuỳ chọn",
    "Missing parameter": "Thiếu tham số",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing {param_type}": "Thiếu {param_type}",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "No such option {name!r}.": "Không có tuỳ chọn {name!r}.",
    "Did you mean {possibility}?": "Có phải là {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(Có phải là một trong các lệnh: {possibilities}?)",
    "Got unexpected extra argument ({args})": "Thừa tham số ({args})",
    "Got unexpected extra arguments ({args})": "Thừa tham số ({args})",
    "Invalid value for {param_hint}: {message}": "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Option {name!r} does not take a value.": "Tuỳ chọn {name!r} không nhận giá trị.",
    "Option {name!r} requires an argument.": "Tuỳ chọn {name!r} cần một giá trị.",
    "Option {name!r} requires {nargs} arguments.": "Tuỳ chọn {name!r} cần {nargs} giá trị.",
    "Argument {name!r} takes {nargs} values.": "Tham số {name!r} nhận {nargs} giá trị.",
    "Takes {nargs} values but 1 was given.": "Cần {nargs} giá trị, mới có 1.",
    "Takes {nargs} values but {len} were given.": "Cần {nargs} giá trị, lại có {len}.",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là số hợp lệ.",
    "{value!r} is not {choice}.": "{value!r} không hợp lệ, chỉ nhận {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} không hợp lệ, chỉ nhận một trong: {choices}.",
    "{value} is not in the range {range}.": "{value} nằm ngoài khoảng {range}.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    "file": "tệp",
    "directory": "thư mục",
    "path": "đường dẫn",
    "{name} {filename!r} does not exist.": "{name} {filename!r} không tồn tại.",
    "{name} {filename!r} is a file.": "{name} {filename!r} là một tệp, cần một thư mục.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} là một thư mục, cần một tệp.",
    "{name} {filename!r} is not readable.": "Không có quyền đọc {name} {filename!r}.",
    "{name} {filename!r} is not writable.": "Không có quyền ghi {name} {filename!r}.",
    "Repeat for confirmation": "Nhập lại để xác nhận",
    "Error: The two entered values do not match.": "Lỗi: hai lần nhập không khớp nhau.",
    "Error: invalid input": "Lỗi: giá trị nhập không hợp lệ",
    "default: {default}": "mặc định: {default}",
    "env var: {var}": "biến môi trường: {var}",
    "unknown error": "lỗi không rõ",
    "required": "bắt buộc",
}
# Placeholders in the help text, by option: click would print TEXT, the string type's name.
METAVARS = {"--period": "KỲ", "--unit": "MÃ_ĐƠN_VỊ", "--title": "TÊN", "--units": "MÃ,MÃ,...",
            "--like": "NGHĨA_VỤ", "--received": "'YYYY-MM-DD HH:MM'", "file": "TỆP"}
OPTIONS_METAVAR = "[TUỲ CHỌN]"
SUBCOMMAND_METAVAR = "LỆNH [THAM SỐ]..."


def gettext(message: str) -> str:
    return VI.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def install() -> None:
    """Point click's translation hooks at the table above. Call before defining commands."""
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui,
                   click.types):
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def name_metavars(group: click.Group) -> None:
    """The usage line's placeholders, which click keeps as plain attributes, not gettext strings."""
    group.options_metavar, group.subcommand_metavar = OPTIONS_METAVAR, SUBCOMMAND_METAVAR
    for command in group.commands.values():
        command.options_metavar = OPTIONS_METAVAR
        for param in command.params:
            named = next((METAVARS[o] for o in param.opts if o in METAVARS), None)
            if param.metavar is None and named is not None:
                param.metavar = named
