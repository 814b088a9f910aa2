"""The config's address check takes a shortcut (each domain checked once, the part before the @
by its own rule): it must give email-validator's own answer for every address."""

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from scheduler.config.model import _email

LOCAL = "abcxyzABZ0189._-+!#$%&'*/=?^`{|}~\"(),:;<>@[\\] éđ"
LABELS = ["bacninh", "gov", "vn", "EXAMPLE", "org", "xn--bc-ona", "a" * 63, "a" * 64, "123", "-ab", "ab-", "a--b",
          "localhost", "local", "test", "invalid", "onion", "bộ", "sở", "", "mail", "co"]


def reference(value: str) -> str:
    """What the check said before the shortcut: email-validator alone."""
    try:
        valid = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        hint = " (chữ có dấu trước @ không gửi được)" if not value.isascii() else ""
        raise ValueError(f"{value!r} không phải địa chỉ email hợp lệ{hint}") from exc
    return valid.ascii_email or valid.normalized


def answer(check, value: str) -> tuple[str, str]:
    try:
        return "ok", check(value)
    except ValueError as exc:
        return "refused", str(exc)


def addresses(rng: random.Random, count: int):
    for _ in range(count):
        local = "".join(rng.choice(LOCAL) for _ in range(rng.choice([1, 2, 5, 12, 30, 64, 65])))
        if rng.random() < 0.6:  # most addresses look like real ones
            local = rng.choice(["nguyen.van.an", "vp.so", "a", "thanh-tra", "x_y+tag", ".a", "a.", "a..b"]) + \
                (local[:3] if rng.random() < 0.3 else "")
        labels = [rng.choice(LABELS) for _ in range(rng.choice([1, 2, 3, 3, 4, 5]))]
        domain = ".".join(labels) + ("." if rng.random() < 0.05 else "")
        if rng.random() < 0.5:
            domain = rng.choice(["bacninh.gov.vn", "BacNinh.GOV.vn", "sở.vn", "mail.co", "a.b.c.vn", "x-y.vn"])
        if rng.random() < 0.03:
            domain = ".".join(["a" * 60] * 5)  # past 253 characters
        elif rng.random() < 0.05:
            domain = ".".join(["a" * 60] * 4) + ".vn"  # 246: the whole address may pass 254
        yield f"{local}@{domain}" if rng.random() > 0.02 else local + domain


@pytest.mark.parametrize("seed", range(4))
def test_the_shortcut_gives_email_validators_answer(seed):
    rng = random.Random(seed)
    accepted = 0
    for value in addresses(rng, 5_000):
        expected = answer(reference, value)
        assert answer(_email, value) == expected, value
        accepted += expected[0] == "ok"
    assert 1_000 < accepted < 4_000  # both answers were exercised


def test_an_address_is_written_as_email_validator_writes_it():
    assert _email("VP.So@BacNinh.GOV.vn") == "VP.So@bacninh.gov.vn"
    assert _email("van.thu@bộ.vn") == "van.thu@xn--b-8xm.vn" == reference("van.thu@bộ.vn")
    with pytest.raises(ValueError, match="không phải địa chỉ email hợp lệ"):
        _email("thanh.tra@localhost")
