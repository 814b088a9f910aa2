"""Sinh tệp units.yaml cho ví dụ 001 (147 đơn vị gửi báo cáo về Văn phòng UBND tỉnh Bắc Ninh).

Chạy lại khi sửa danh sách:  python make_units.py > units.yaml
Tên người là giả định, sinh cố định (cùng đầu vào, cùng kết quả); địa chỉ @example.org là mẫu.
Tệp units.yaml sinh ra được đưa vào kho và sửa tay bình thường như mọi tệp cấu hình khác.
"""

from __future__ import annotations

import random
import unicodedata

# ---------------------------------------------------------------- danh sách đơn vị

# (mã, tên) — sở, ban, ngành và đơn vị trực thuộc UBND tỉnh sau sắp xếp năm 2025.
SO_NGANH = [
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SCT", "Sở Công Thương"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SDTTG", "Sở Dân tộc và Tôn giáo"),
    ("TTRA", "Thanh tra tỉnh"),
    ("VPUBND", "Văn phòng UBND tỉnh"),
    ("BQLKCN", "Ban Quản lý các khu công nghiệp tỉnh"),
    ("BPTTH", "Báo và Phát thanh, Truyền hình Bắc Ninh"),
    ("LMHTX", "Liên minh Hợp tác xã tỉnh"),
    ("QDTPT", "Quỹ Đầu tư phát triển tỉnh"),
    ("BQLDA-DDCN", "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng và công nghiệp tỉnh"),
    ("BQLDA-GT", "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông tỉnh"),
    ("BQLDA-NN", "Ban Quản lý dự án đầu tư xây dựng các công trình nông nghiệp và phát triển nông thôn tỉnh"),
    ("VPDKDD", "Văn phòng Đăng ký đất đai tỉnh"),
    ("CDSP", "Trường Cao đẳng Sư phạm Bắc Ninh"),
    ("CDYT", "Trường Cao đẳng Y tế Bắc Ninh"),
    ("CDNGT", "Trường Cao đẳng Ngô Gia Tự Bắc Giang"),
]

# Cơ quan Trung ương tổ chức theo ngành dọc và doanh nghiệp nhà nước cung cấp dịch vụ công
# trên địa bàn tỉnh (mục II.1 của Kế hoạch: "bao gồm các cơ quan Trung ương tổ chức theo ngành dọc").
TRUNG_UONG = [
    ("CAT", "Công an tỉnh"),
    ("BCHQS", "Bộ Chỉ huy Quân sự tỉnh"),
    ("BHXH", "Bảo hiểm xã hội tỉnh Bắc Ninh"),
    ("THUE", "Thuế tỉnh Bắc Ninh"),
    ("THUE-CS1", "Thuế cơ sở 1 tỉnh Bắc Ninh"),
    ("THUE-CS2", "Thuế cơ sở 2 tỉnh Bắc Ninh"),
    ("THUE-CS3", "Thuế cơ sở 3 tỉnh Bắc Ninh"),
    ("THUE-CS4", "Thuế cơ sở 4 tỉnh Bắc Ninh"),
    ("KBNN", "Kho bạc Nhà nước khu vực V"),
    ("HAIQUAN", "Chi cục Hải quan khu vực V"),
    ("THONGKE", "Thống kê tỉnh Bắc Ninh"),
    ("THADS", "Thi hành án dân sự tỉnh Bắc Ninh"),
    ("NHNN", "Ngân hàng Nhà nước chi nhánh Khu vực 5"),
    ("NHCSXH", "Chi nhánh Ngân hàng Chính sách xã hội tỉnh Bắc Ninh"),
    ("DTNN", "Chi cục Dự trữ Nhà nước Bắc Ninh"),
    ("KTTV", "Đài Khí tượng thủy văn tỉnh Bắc Ninh"),
    ("BUUDIEN", "Bưu điện tỉnh Bắc Ninh"),
    ("DIENLUC-BN", "Công ty Điện lực Bắc Ninh"),
    ("DIENLUC-BG", "Công ty Điện lực Bắc Giang"),
    ("VNPT", "VNPT Bắc Ninh"),
    ("VIETTEL", "Viettel Bắc Ninh"),
    ("TAND", "Tòa án nhân dân tỉnh Bắc Ninh"),
    ("VKSND", "Viện kiểm sát nhân dân tỉnh Bắc Ninh"),
    ("DHNL", "Trường Đại học Nông - Lâm Bắc Giang"),
]

# 99 xã, phường (66 xã, 33 phường) theo Nghị quyết số 1658/NQ-UBTVQH15 ngày 16/6/2025,
# theo thứ tự mã đơn vị hành chính: khu vực Bắc Giang cũ (mã 07…), rồi Bắc Ninh cũ (mã 09…).
XA_PHUONG_BG = """
Phường Bắc Giang; Phường Đa Mai; Xã Xuân Lương; Xã Tam Tiến; Xã Đồng Kỳ; Xã Yên Thế; Xã Bố Hạ;
Xã Nhã Nam; Xã Phúc Hòa; Xã Quang Trung; Xã Tân Yên; Xã Ngọc Thiện; Xã Lạng Giang; Xã Tiên Lục;
Xã Kép; Xã Mỹ Thái; Xã Tân Dĩnh; Xã Lục Nam; Xã Đông Phú; Xã Bảo Đài; Xã Nghĩa Phương;
Xã Trường Sơn; Xã Lục Sơn; Xã Bắc Lũng; Xã Cẩm Lý; Phường Chũ; Xã Tân Sơn; Xã Sa Lý; Xã Biên Sơn;
Xã Sơn Hải; Xã Kiên Lao; Xã Biển Động; Xã Lục Ngạn; Xã Đèo Gia; Xã Nam Dương; Phường Phượng Sơn;
Xã Sơn Động; Xã Tây Yên Tử; Xã Vân Sơn; Xã Đại Sơn; Xã Yên Định; Xã An Lạc; Xã Tuấn Đạo;
Xã Dương Hưu; Phường Yên Dũng; Phường Tân An; Phường Tiền Phong; Phường Tân Tiến; Xã Đồng Việt;
Phường Cảnh Thụy; Phường Tự Lạn; Phường Việt Yên; Phường Nếnh; Phường Vân Hà; Xã Hoàng Vân;
Xã Hiệp Hòa; Xã Hợp Thịnh; Xã Xuân Cẩm
"""
XA_PHUONG_BN = """
Phường Vũ Ninh; Phường Kinh Bắc; Phường Võ Cường; Xã Yên Phong; Xã Tam Giang; Xã Yên Trung;
Xã Tam Đa; Xã Văn Môn; Phường Quế Võ; Phường Nhân Hòa; Phường Phương Liễu; Phường Nam Sơn;
Xã Phù Lãng; Phường Bồng Lai; Phường Đào Viên; Xã Chi Lăng; Xã Tiên Du; Phường Hạp Lĩnh;
Xã Liên Bão; Xã Đại Đồng; Xã Tân Chi; Xã Phật Tích; Phường Từ Sơn; Phường Tam Sơn; Phường Phù Khê;
Phường Đồng Nguyên; Phường Thuận Thành; Phường Mão Điền; Phường Trí Quả; Phường Trạm Lộ;
Phường Song Liễu; Phường Ninh Xá; Xã Gia Bình; Xã Cao Đức; Xã Đại Lai; Xã Nhân Thắng; Xã Đông Cứu;
Xã Lương Tài; Xã Trung Kênh; Xã Trung Chính; Xã Lâm Thao
"""

# ---------------------------------------------------------------- người (giả định)

HO = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 3 + ["Phạm"] * 2 + ["Hoàng", "Vũ", "Đỗ", "Bùi",
      "Đặng", "Ngô", "Dương", "Đào", "Trịnh", "Phan", "Lương", "Hà", "Chu", "Giáp", "Thân", "Nghiêm"]
DEM_NAM = ["Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Thanh", "Mạnh", "Tiến", "Công", "Duy", "Ngọc", "Trọng"]
TEN_NAM = ["Hùng", "Dũng", "Tuấn", "Thắng", "Hải", "Long", "Nam", "Sơn", "Cường", "Trung", "Hiếu",
           "Quân", "Thành", "Khánh", "Phong", "Hòa", "Bình", "Toàn", "Việt", "Tâm", "Lâm", "Kiên",
           "Đạt", "Huy", "Hưng", "Tùng", "Vinh", "Lực", "Chiến", "Quyết", "Thịnh", "Tú"]
DEM_NU = ["Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng", "Thúy", "Kim", "Phương", "Bích", "Thị Thu", "Thị Minh"]
TEN_NU = ["Hương", "Lan", "Hà", "Linh", "Trang", "Nga", "Hạnh", "Thảo", "Hằng", "Huyền", "Yến",
          "Mai", "Dung", "Nhung", "Oanh", "Phượng", "Quyên", "Vân", "Anh", "Ngân", "Loan", "Thủy", "Hoa", "Liên"]


def person(rng: random.Random, female: bool) -> str:
    if female:
        return f"{rng.choice(HO)} {rng.choice(DEM_NU)} {rng.choice(TEN_NU)}"
    return f"{rng.choice(HO)} {rng.choice(DEM_NAM)} {rng.choice(TEN_NAM)}"


def ascii_fold(text: str) -> str:
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def slug(name: str) -> str:
    return ascii_fold(name).lower().replace(" ", "")


def xa_phuong() -> list[tuple[str, str, str]]:
    """(mã, tên, mã vùng điện thoại) của 99 xã, phường."""
    found = []
    for block, area in ((XA_PHUONG_BG, "0204"), (XA_PHUONG_BN, "0222")):
        for name in (n.strip() for n in block.replace("\n", " ").split(";")):
            kind, _, place = name.partition(" ")
            prefix = "XA" if kind == "Xã" else "PH"
            found.append((f"{prefix}-{ascii_fold(place).upper().replace(' ', '')}", name, area))
    return found


# ---------------------------------------------------------------- xuất YAML

HEADER = """\
# Ví dụ 001 — các đơn vị gửi báo cáo phong trào thi đua về Văn phòng UBND tỉnh
# (Trung tâm Phục vụ hành chính công tỉnh). Tệp sinh bởi make_units.py, sửa tay bình thường.
#
# 147 đơn vị chia ba khối để xếp hạng riêng từng khối (Kế hoạch, mục III.1):
#   so-nganh    24 sở, ban, ngành và đơn vị trực thuộc UBND tỉnh
#   trung-uong  24 cơ quan Trung ương tổ chức theo ngành dọc, doanh nghiệp cung cấp dịch vụ công
#   xa-phuong   99 xã, phường (66 xã, 33 phường) sau sắp xếp đơn vị hành chính năm 2025
#
# Không ghi "obligations": mỗi đơn vị nộp mọi báo cáo trong plan.yaml (không có applies_to).
# Tên đơn vị dựng theo cơ cấu tổ chức sau sắp xếp năm 2025; số hiệu "khu vực" của các cơ quan
# ngành dọc (Kho bạc, Hải quan, Ngân hàng Nhà nước) và số Thuế cơ sở cần đối chiếu trước khi dùng
# thật. Tên người là giả định; địa chỉ @example.org là địa chỉ mẫu, không gửi được tới ai.
# Kiểm tra sau khi sửa:  baocao --config config/examples/001-ubnd-tinh-thi-dua check-config
"""


def q(text: str) -> str:
    return f'"{text}"'


def unit_block(code: str, name: str, group: str, head: str, head_email: str,
               focal: list[tuple[str, str, str]], note: str | None = None) -> str:
    lines = [f"  - code: {code}", f"    name: {name}"]
    if note:
        lines.append(f"    # {note}")
    lines += [
        f"    group: {group}",
        f"    head: {{name: {head}, email: {head_email}}}",
        "    focal_points:",
    ]
    for fname, femail, phone in focal:
        lines.append(f"      - {{name: {fname}, email: {femail}, phone: {q(phone)}}}")
    return "\n".join(lines)


NOTES = {
    "VPUBND": "Báo cáo phần TTHC thuộc thẩm quyền của Văn phòng; Trung tâm PVHCC tỉnh là nơi tổng hợp",
    "VPDKDD": "Thuộc Sở Nông nghiệp và Môi trường; theo dõi riêng vì tiếp nhận phần lớn hồ sơ đất đai",
    "THUE": "Phần tiếp nhận tại Trung tâm PVHCC tỉnh; các Thuế cơ sở báo cáo phần tiếp nhận trên địa bàn",
}


def main() -> None:
    rng = random.Random(2026)
    used: set[str] = set()

    def fresh(female: bool) -> str:
        while True:
            name = person(rng, female)
            if name not in used:
                used.add(name)
                return name

    def phone(area: str) -> str:
        return f"{area} 3{rng.randint(600, 899)} xxx"

    out = [HEADER, "groups:",
           "  - id: so-nganh", "    name: Sở, ban, ngành",
           "  - id: trung-uong", "    name: Cơ quan Trung ương trên địa bàn tỉnh",
           "  - id: xa-phuong", "    name: UBND xã, phường",
           "", "units:"]
    sections = [
        ("so-nganh", "Khối sở, ban, ngành", [(c, n, "0222") for c, n in SO_NGANH], "lanhdao", "daumoi"),
        ("trung-uong", "Khối cơ quan Trung ương", [(c, n, "0222") for c, n in TRUNG_UONG], "lanhdao", "daumoi"),
        ("xa-phuong", "Khối xã, phường (thủ trưởng: Chủ tịch UBND; đầu mối: Trung tâm PVHCC xã, phường)",
         xa_phuong(), "chutich", "motcua"),
    ]
    codes: set[str] = set()
    for group, title, items, head_role, focal_role in sections:
        out.append(f"\n  # ---- {title}: {len(items)} đơn vị\n")
        for code, name, area in items:
            assert code not in codes and len(code) <= 20, code
            codes.add(code)
            key = slug(name.partition(" ")[2]) if group == "xa-phuong" else code.lower()
            if group == "xa-phuong":
                key = ("xa" if name.startswith("Xã") else "phuong") + "." + key
            focal = [(fresh(rng.random() < 0.6), f"{key}.{focal_role}@example.org", phone(area))]
            if rng.random() < 0.25:  # một số đơn vị có đầu mối thứ hai
                focal.append((fresh(rng.random() < 0.5), f"{key}.{focal_role}2@example.org", phone(area)))
            out.append(unit_block(code, name, group, fresh(rng.random() < 0.25),
                                  f"{key}.{head_role}@example.org", focal, NOTES.get(code)))
            out.append("")
    assert len(codes) == 147, len(codes)
    print("\n".join(out).rstrip() + "\n", end="")


if __name__ == "__main__":
    main()
