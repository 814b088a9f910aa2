"""A realistic fourth quarter for seed 000: 15 of the 18 active units (19 listed) report, three of them late, two
answer "Không phát sinh" to most of it, and the texts are as units type them (list markers,
line breaks, "Không có."). Shared by the report's tests and by anyone looking at the result."""

from __future__ import annotations

import random
from datetime import datetime

from scheduler.clock import TZ
from scheduler.report.consolidate import Returned

REPORTING = ["BPMC", "TTRA", "KHTC", "TCCB", "PC", "QLDD", "MT", "TNN", "TTBVTV", "CNTY", "KL", "TL", "QLCL",
             "PTNT", "VPDKDD"]  # TTKN, TTQT, TTCNTT, TTNS do not report
LATE = {"QLCL", "PTNT", "VPDKDD"}
NOTHING_TO_REPORT = {"TCCB", "PC"}  # no dossiers of their own this quarter
ONLY_NOTHING = "PC"  # "Không phát sinh" for every figure too: nothing to rank it by

TEXTS = {
    "tuyen_truyen": [
        "- Tổ chức 02 hội nghị quán triệt Kế hoạch cho công chức Bộ phận Một cửa.\n"
        "- Niêm yết hướng dẫn nộp hồ sơ trực tuyến tại trụ sở;\n+ đăng 12 tin, bài trên Cổng thông tin điện tử",
        "Cử 03 công chức hỗ trợ trực tiếp người dân theo phương châm “cầm tay chỉ việc”.\r\n"
        "Phối hợp Đoàn Thanh niên hướng dẫn 450 lượt người dân.",
        "1. Phát 1.200 tờ rơi hướng dẫn dịch vụ công trực tuyến\n2. Hướng dẫn qua điện thoại, Zalo",
        "Không phát sinh.",
    ],
    "truc_tuyen_thanh_toan": [
        "• Tiếp nhận 100% hồ sơ đủ điều kiện qua Cổng dịch vụ công\n• Thanh toán phí qua VNPT Pay",
        "Hướng dẫn người dân thanh toán trực tuyến lệ phí cấp giấy chứng nhận.",
        "không",
    ],
    "so_hoa": [
        "a) Số hoá 100% hồ sơ tiếp nhận;\nb) Số hoá kết quả giải quyết còn chậm ở lĩnh vực đất đai.",
        "Đã số hoá 2.340 hồ sơ lưu trữ giai đoạn 2020–2025.",
    ],
    "chat_luong": ["Lắp đặt thiết bị đánh giá mức độ hài lòng tại quầy.", "- Không có"],
    "mo_hinh_hay": ["Mô hình “Tổ hỗ trợ dịch vụ công lưu động” tại các xã vùng đồi.",
                    "Mô hình “Thứ Bảy hỗ trợ số hoá”, làm việc cả sáng thứ Bảy."],
    "ton_tai": ["- Đường truyền tại điểm tiếp nhận chậm\n- Người dân cao tuổi chưa quen thao tác trên điện thoại",
                "Một số hồ sơ đất đai bản giấy không đủ để số hoá."],
    "phuong_huong": ["Tiếp tục hỗ trợ người dân nộp hồ sơ trực tuyến.", "- Hoàn thành số hoá hồ sơ tồn đọng"],
    "de_xuat": ["Đề nghị Sở bố trí kinh phí nâng cấp đường truyền.", "Không có đề xuất."],
}


def figures_for(code: str, rng: random.Random) -> dict:
    if code in NOTHING_TO_REPORT:
        return {i: None for i in ("quan_triet", "cam_tay_chi_viec", "huong_dan", "tu_thao_tac", "so_hoa",
                                  "truc_tuyen", "thanh_toan", "ket_qua_dien_tu", "hai_long", "tai_su_dung",
                                  "toan_trinh")} | ({} if code == ONLY_NOTHING else {"toan_trinh": {"num": 2, "den": 2}})
    staff = rng.randint(3, 9)
    visits = rng.randint(150, 900)
    dossiers = rng.randint(120, 700)
    paid = rng.randint(20, 120)
    return {
        "quan_triet": {"num": staff, "den": staff},
        "cam_tay_chi_viec": {"num": staff - (code == "TNN"), "den": staff},
        "huong_dan": {"num": visits, "den": visits},
        "tu_thao_tac": {"num": int(visits * rng.uniform(0.82, 0.97)), "den": visits},
        "so_hoa": {"num": dossiers - (rng.randint(1, 9) if code in ("QLDD", "VPDKDD") else 0), "den": dossiers},
        "truc_tuyen": {"num": int(dossiers * rng.uniform(0.86, 0.99)), "den": dossiers},
        "thanh_toan": {"num": int(paid * rng.uniform(0.7, 0.95)), "den": paid},
        "ket_qua_dien_tu": {"num": int(dossiers * rng.uniform(0.88, 1.0)), "den": dossiers},
        "hai_long": {"num": int(dossiers * rng.uniform(0.93, 1.0)), "den": dossiers},
        "tai_su_dung": {"num": int(dossiers * rng.uniform(0.7, 0.9)), "den": dossiers},
        "toan_trinh": {"num": rng.randint(8, 12), "den": 12},
    }


def narrative_for(n: int, code: str) -> dict:
    if code in NOTHING_TO_REPORT:
        return {h: "Không phát sinh." for h in TEXTS}
    texts = {}
    for heading, options in TEXTS.items():
        if heading == "mo_hinh_hay" and n % 4:
            continue  # few units have a model worth naming
        texts[heading] = options[n % len(options)]
    return texts


def quarter_returns(codes=REPORTING, seed: int = 2026) -> dict[str, Returned]:
    rng = random.Random(seed)
    out = {}
    for n, code in enumerate(codes):
        received = datetime(2026, 12, 7 if code in LATE else 3, 9, tzinfo=TZ)
        out[code] = Returned(code, 1, code not in LATE, received, figures_for(code, rng), narrative_for(n, code))
    return out
