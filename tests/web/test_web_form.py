"""The unit's form over real HTTP: links, CSRF, validation that keeps what was typed, revisions."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
from sqlmodel import Session, select

from scheduler.store.tables import SendRow
from scheduler.web.security import Throttle
from tests.conftest import HOSTILE, Q4_2026_DEADLINE, open_form, stored, valid_form


def test_a_link_opens_only_its_own_unit_and_period(web):
    with httpx.Client(base_url=web.base) as client:
        page, _ = open_form(client, web.link("BPMC"))
        assert "Bộ phận Một cửa của Sở" in page.text and "Báo cáo Quý IV/2026" in page.text
        assert "Thanh tra Sở" not in page.text
        assert "trước ngày Thứ Bảy, 05/12/2026" in page.text
        q3, _ = open_form(client, web.link("BPMC", "2026-Q3"))
        assert "Báo cáo Quý III/2026" in q3.text and "Quý IV/2026" not in q3.text
        other, csrf = open_form(client, web.link("TTRA"))
        assert "Thanh tra Sở" in other.text and "Bộ phận Một cửa của Sở" not in other.text
        assert client.post(web.link("TTRA"), data=valid_form(csrf=csrf)).status_code == 303
    assert [s.unit_code for s in stored(web, "TTRA")] == ["TTRA"] and stored(web, "BPMC") == []


def test_wrong_token_gets_404_with_no_hint(web):
    with httpx.Client(base_url=web.base) as client:
        real = web.link("BPMC")
        wrong = client.get(real[:-4] + "AAAA")
        junk = client.get("/f/abc")
        elsewhere = client.get("/khong-co-trang-nay")
    assert wrong.status_code == junk.status_code == elsewhere.status_code == 404
    assert wrong.text == junk.text == elsewhere.text  # nothing tells a guessed token from a wrong page
    assert "Không tìm thấy trang" in wrong.text and "Bộ phận Một cửa của Sở" not in wrong.text


def test_repeated_bad_tokens_from_one_address_are_slowed_then_refused(web):
    web.ctx.throttle = Throttle(free=2, block_after=6)
    with httpx.Client(base_url=web.base) as client:
        started = time.monotonic()
        codes = [client.get(f"/f/doan-mo-{n}").status_code for n in range(6)]
        slowed = time.monotonic() - started
        blocked = client.get("/f/doan-tiep")
        valid = client.get(web.link("BPMC"))
    assert codes == [404] * 6
    assert slowed >= 0.25 + 0.5 + 1.0  # the 3rd, 4th and 5th guesses waited
    assert blocked.status_code == 429 and "Thử quá nhiều lần" in blocked.text
    # behind a proxy every unit may share one address: a real link still opens
    assert valid.status_code == 200 and "Bộ phận Một cửa của Sở" in valid.text


def test_a_csrf_token_from_one_link_does_not_work_on_another(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf_bpmc = open_form(client, web.link("BPMC"))
        open_form(client, web.link("TTRA"))
        crossed = client.post(web.link("TTRA"), data=valid_form(csrf=csrf_bpmc))
    assert crossed.status_code == 403


def test_pages_are_not_framed_and_leak_no_referrer(web):
    with httpx.Client(base_url=web.base) as client:
        page = client.get(web.link("BPMC"))
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_post_without_csrf_token_is_refused_and_nothing_is_stored(web):
    with httpx.Client(base_url=web.base) as client:
        open_form(client, web.link("BPMC"))
        no_token = client.post(web.link("BPMC"), data=valid_form())
        forged = client.post(web.link("BPMC"), data=valid_form(csrf="0" * 64))
    with httpx.Client(base_url=web.base) as stranger:  # a cross-site post carries no cookie of ours
        _, csrf = open_form(stranger, web.link("BPMC"))
        stranger.cookies.clear()
        no_cookie = stranger.post(web.link("BPMC"), data=valid_form(csrf=csrf))
    assert no_token.status_code == forged.status_code == no_cookie.status_code == 403
    assert "Phiên làm việc không hợp lệ" in no_token.text
    assert stored(web, "BPMC") == []


def test_invalid_input_keeps_what_was_typed_and_names_the_field(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        bad = valid_form(csrf=csrf, so_hoa__num="950", truc_tuyen__den="chín trăm", h__chat_luong="",
                         hai_long__num="12,5")
        page = client.post(web.link("BPMC"), data=bad)
    assert page.status_code == 422
    assert "Báo cáo chưa gửi được: có 4 chỗ cần sửa." in page.text
    # each error sits with its field and is linked from the summary
    assert re.search(r'id="so_hoa-loi">“Số hồ sơ được số hoá” \(950\) lớn hơn “Tổng số hồ sơ” \(930\)</p>', page.text)
    assert 'id="truc_tuyen__den-loi">“chín trăm” không phải số nguyên không âm</p>' in page.text
    assert 'id="h__chat_luong-loi">phần này bắt buộc</p>' in page.text
    assert 'href="#h__chat_luong">Nâng cao chất lượng phục vụ người dân, doanh nghiệp</a>' in page.text
    # nothing typed is lost, including the invalid values themselves
    assert 'name="so_hoa__num" value="950"' in page.text
    assert 'name="truc_tuyen__den" value="chín trăm"' in page.text
    assert 'name="hai_long__num" value="12,5"' in page.text
    assert 'name="thanh_toan__kps" value="1" checked' in page.text
    assert "Đã tuyên truyền &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;trích dẫn&#39;" in page.text
    assert stored(web, "BPMC") == []


def test_shortcomings_are_required_when_an_indicator_misses_its_target(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        page = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, hai_long__num="390"))  # 92,9% < 95%
        assert page.status_code == 422
        assert "bắt buộc vì có chỉ tiêu chưa đạt mục tiêu: Mức độ hài lòng của người dân, doanh nghiệp" in page.text
        # "Không phát sinh" explains nothing when a target is missed
        nothing = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, hai_long__num="390",
                                                                 h__ton_tai="- Không phát sinh."))
        assert nothing.status_code == 422
        assert ("cần nêu tồn tại, nguyên nhân vì có chỉ tiêu chưa đạt mục tiêu: Mức độ hài lòng của người dân, "
                "doanh nghiệp") in nothing.text
        assert "- Không phát sinh." in nothing.text  # what was typed is kept
        ok = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, hai_long__num="390",
                                                            h__ton_tai="Hài lòng chưa đạt do quá tải."))
    assert ok.status_code == 303


def test_a_correction_creates_revision_2_and_keeps_revision_1(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        first = client.post(web.link("BPMC"), data=valid_form(csrf=csrf), follow_redirects=True)
        assert first.status_code == 200 and "Đã gửi báo cáo thành công." in first.text
        assert "bản thứ 1" in first.text and "(đúng hạn)" in first.text
        again, csrf = open_form(client, web.link("BPMC"))
        assert "Đơn vị đã gửi 1 lần" in again.text and 'name="so_hoa__num" value="930"' in again.text
        web.clock.now = Q4_2026_DEADLINE + timedelta(days=1, hours=3)  # corrected after the deadline
        second = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, so_hoa__num="925",
                                                               h__ton_tai="5 hồ sơ giấy chưa số hoá kịp."),
                             follow_redirects=True)
        assert "bản thứ 2" in second.text and "(sau hạn)" in second.text
    subs = stored(web, "BPMC")
    assert [(s.revision, s.figures["so_hoa"], s.on_time) for s in subs] == [
        (1, {"num": 930, "den": 930}, True), (2, {"num": 925, "den": 930}, False)]
    with Session(web.service.engine) as session:
        receipts = session.exec(select(SendRow.step).where(SendRow.kind == "receipt")).all()
    assert sorted(receipts) == ["receipt#1", "receipt#2"]


def test_text_with_script_quotes_and_diacritics_round_trips_exactly_and_is_escaped(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        done = client.post(web.link("BPMC"), data=valid_form(csrf=csrf), follow_redirects=True)
        form_again = client.get(web.link("BPMC"))
    assert stored(web, "BPMC")[0].narrative["tuyen_truyen"] == HOSTILE
    for page in (done.text, form_again.text):
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;trích dẫn&#39; — “ngoặc kép” ở xã Tân Tiến" in page


def test_after_closing_the_link_shows_the_last_revision_read_only(web):
    from scheduler.collect import record

    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        client.post(web.link("BPMC"), data=valid_form(csrf=csrf))
        with Session(web.service.engine) as session:
            record.close(session, "2026-Q4", web.clock())
            session.commit()
        page = client.get(web.link("BPMC"))
        refused = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, so_hoa__num="1"))
        never = client.get(web.link("TTRA"))
    assert page.status_code == 200 and "Kỳ báo cáo đã khoá" in page.text and "<textarea" not in page.text
    assert "930 / 930" in page.text and "Không phát sinh" in page.text
    assert refused.status_code == 409 and len(stored(web, "BPMC")) == 1
    assert never.status_code == 410


def test_a_revoked_link_says_it_has_expired(web):
    from scheduler.collect import links

    path = web.link("BPMC")
    with Session(web.service.engine) as session:
        links.revoke(session, "2026-Q4", "BPMC", web.clock())
        session.commit()
    with httpx.Client(base_url=web.base) as client:
        gone = client.get(path)
        fresh = client.get(web.link("BPMC"))
    assert gone.status_code == 410 and "Đường dẫn đã hết hiệu lực" in gone.text
    assert fresh.status_code == 200 and fresh.url.path != path


def test_the_form_is_usable_without_javascript_and_labelled(web):
    with httpx.Client(base_url=web.base) as client:
        page, _ = open_form(client, web.link("BPMC"))
    # one script, from the site itself and deferred, a help beside the fields: no inline code
    # (the CSP forbids it), and every field is a plain HTML one that posts without it
    assert re.findall(r"<script[^>]*>[^<]*</script>", page.text) == [
        f'<script src="{re.search(r"/tep/bieu-mau.js[?]v=[0-9a-f]+", page.text).group(0)}" defer></script>']
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    for field in re.findall(r'<(?:input|textarea)[^>]*id="([^"]+)"', page.text):
        assert f'<label for="{field}"' in page.text, field


def test_links_keep_working_after_the_secret_key_is_rotated(web):
    from pydantic import SecretStr

    old = web.link("BPMC")
    web.service.settings.secret_key = SecretStr("une nouvelle clé secrète, bien plus longue que 32 caractères")
    new = web.link("BPMC")
    with httpx.Client(base_url=web.base) as client:
        assert new != old and client.get(new).status_code == 200
        assert client.get(old).status_code == 410  # the old link says it has expired, not "not found"


def test_an_unauthenticated_oversized_post_is_refused_without_reading_it(web):
    with httpx.Client(base_url=web.base, timeout=30) as client:
        big = {f"f{i}": "x" * 1024 for i in range(300)}  # 300 KB the server never needs to hold
        started = time.monotonic()
        response = client.post("/f/" + "A" * 43, data=big)
        assert response.status_code == 404 and "Không tìm thấy trang" in response.text
        _, csrf = open_form(client, web.link("BPMC"))
        response = client.post(web.link("BPMC"), content=b"a=" + b"x" * (5 * 1024 * 1024),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 413
        assert "Nội dung gửi quá lớn" in response.text and "nút Quay lại" in response.text
        assert time.monotonic() - started < 10
    assert stored(web, "BPMC") == []


def test_a_narrative_over_a_megabyte_is_named_beside_its_field_and_kept(web):
    long_text = "Đã niêm yết quy trình. " * 50_000  # about 1.2 MB of UTF-8
    with httpx.Client(base_url=web.base, timeout=30) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        response = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, h__tuyen_truyen=long_text))
    assert response.status_code == 422
    assert "quá dài (" in response.text and "tối đa 20000" in response.text
    assert "Đã niêm yết quy trình. Đã niêm yết quy trình." in response.text  # what was typed is still there
    assert "Field exceeded" not in response.text
    assert stored(web, "BPMC") == []
