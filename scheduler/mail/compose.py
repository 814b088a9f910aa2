"""Composing the messages: Jinja2 templates in templates/email/ → an EmailMessage.

Composition is pure apart from reading the templates; sending is transport.py's job.
Anything that reaches a header (names, subject) is stripped of control characters and
passed through email.headerregistry, so a name like `"A" <x@y>\nBcc: z` cannot add headers.
"""

from __future__ import annotations

import functools
import re
import random
import unicodedata
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email import quoprimime
from email.message import EmailMessage, Message, MIMEPart
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from scheduler.policy.periods import Period
from scheduler.clock import to_local
from scheduler.config.model import Config, Unit
from scheduler.collect.asked import asked, data_range
from scheduler.collect.bundle import part_title, parts
from scheduler.collect.validate import figure_text, headings_for
from scheduler.text import HEADER_CONTROL, long_date, remaining, report_subject, requirement, short_datetime

if TYPE_CHECKING:  # for the type only: importing record would bring the database into composing mail
    from scheduler.collect.record import Standing

class BadAddress(ValueError):
    """An address of the send's own that cannot be put in a header: retrying cannot help,
    unlike every other failure to compose (a template being edited, a bad setting)."""




def header_text(value: str) -> str:
    """One line of NFC text, safe to put in a header."""
    return " ".join(HEADER_CONTROL.sub(" ", unicodedata.normalize("NFC", value)).split())


def _address(a: Address) -> str:
    return _encoded_address(a.display_name, a.addr_spec)


@functools.lru_cache(maxsize=4096)
def _encoded_address(display_name: str, addr_spec: str) -> str:
    if not display_name:
        return f"<{addr_spec}>"
    if display_name.isascii():
        name = formataddr((display_name, addr_spec)).rpartition(" <")[0]  # quoted when needed
    else:
        name = Header(display_name, "utf-8", maxlinelen=70).encode(linesep="\n")
    return f"{name}\n <{addr_spec}>"


def address_list(addresses: list[Address]) -> str:
    """An address header value, encoded and folded here so that every line stays short and
    the email package emits it untouched: Python 3.11's refolder can wrap the comma between
    two UTF-8 names into an encoded word (`=?utf-8?q?=2C?=`), and mail clients then see one
    recipient instead of two."""
    return ",\n ".join(_address(a) for a in addresses)


def _tag(msg: EmailMessage, period: Period, step: str) -> EmailMessage:
    """Machine-readable tags, so a mail client rule (or a test) can sort messages by step."""
    msg.set_raw("X-Baocao-Period", header_text(period.key))
    msg.set_raw("X-Baocao-Step", header_text(step))
    return msg


# What the footer promises about further reminders: only true of a report that counts.
STOPS = "Đơn vị đã nộp báo cáo kỳ này sẽ không nhận thêm thư nhắc."
STOPS_ONCE_APPROVED = "Khi Thủ trưởng đơn vị đã duyệt báo cáo, đơn vị sẽ không nhận thêm thư nhắc."


class Composer:
    def __init__(self, templates_dir: Path, config: Config, mail_from: str):
        self.config = config
        self.mail_from = mail_from
        loader = FileSystemLoader(str(templates_dir / "email"))
        # A composer lives for one delivery pass: its templates are read and compiled once, not
        # checked on disk again for every message (an edit is picked up by the next pass).
        self.text_env = Environment(loader=loader, undefined=StrictUndefined, autoescape=False, auto_reload=False,
                                    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self.html_env = Environment(loader=loader, undefined=StrictUndefined, auto_reload=False,
                                    autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self._from = address_list([Address(display_name=header_text(config.plan.organisation.office_name),
                                           addr_spec=mail_from)])
        self._known: dict[tuple[str, str], Address] = {}  # checked addresses: a tick mails each unit's again

    # -- contexts ---------------------------------------------------------------------------

    def _base(self, period: Period, now: datetime) -> dict[str, Any]:
        org = self.config.plan.organisation
        return {
            "office_name": org.office_name,
            # Inside a sentence after "báo cáo": "Quý IV/2026", or a request's "rà soát TTHC".
            "named": report_subject(period.title, one_off=not self.config.is_recurring(period)),
            "one_off": not self.config.is_recurring(period),
            "contact": org.contact,
            "period_title": period.title,
            "due_short": f"{period.due:%d/%m/%Y}",
            "due_long": long_date(period.due),
            "remaining": remaining(period.due, to_local(now).date()),
        }

    def _what(self, period: Period, link: str | None, unit: Unit | None = None) -> dict[str, Any]:
        """What the period asks of `unit`: only what applies to it."""
        plan = self.config.plan
        ob = self.config.obligation_of(period)
        return {
            # A request is asked under its own title, not the recurring obligation it is like.
            "obligation_title": ob.title if ob and self.config.is_recurring(period) else period.title,
            "data_range": data_range(period),
            "indicators": [
                {"number": a.number, "name": a.ind.name, "child": a.ind.parent is not None, "asked": a.mail_line,
                 "target": f"mục tiêu {a.target}" if a.target else "không giao mục tiêu"}
                for a in asked(self.config, period, unit)
            ],
            "headings": [{"title": h.title, "requirement": requirement(h.required)}
                         for h in headings_for(self.config, period, unit)],
            "link": link,
            "how_to_submit": link or (
                f"gửi báo cáo về {plan.organisation.office_name} qua email "
                f"{', '.join(plan.organisation.office_emails)}"
            ),
        }

    def _also(self, period: Period, also: list[Period], unit: Unit) -> list[dict[str, Any]]:
        """The other parts of the unit's form for that day: each with what it asks that the
        parts before have not (see collect.bundle)."""
        if not also:
            return []
        found = []
        for part in parts(self.config, [period] + also, unit)[1:]:
            wanted = {i.id for i in part.indicators}
            what = self._what(part.period, None, unit)
            what["indicators"] = [i for i, a in zip(what["indicators"], asked(self.config, part.period, unit))
                                  if a.id in wanted]
            titles = {h.title for h in part.headings}
            what["headings"] = [h for h in what["headings"] if h["title"] in titles]
            what["title"] = part.title
            found.append(what)
        return found

    # -- messages ---------------------------------------------------------------------------

    def unit_mail(self, kind: str, period: Period, unit: Unit, to: Iterable[str], cc: Iterable[str],
                  now: datetime, message_id: str, step: str | None = None, link: str | None = None,
                  also: Iterable[Period] = (), awaiting: tuple[int, datetime] | None = None) -> EmailMessage:
        """`also`: other plans' periods the unit owes the same day, asked in the same form.
        `awaiting`: (revision, received_at) of a report sent but not yet approved by the unit's
        head: the reminder says so instead of "chưa nhận được báo cáo"."""
        context = self._base(period, now) | self._what(period, link, unit) | {"unit_name": unit.name,
                                                                             "head_copied": bool(cc)}
        context["also"] = self._also(period, list(also), unit)
        context["awaiting"] = None if awaiting is None else {
            "revision": awaiting[0], "received": short_datetime(to_local(awaiting[1]))}
        context["reminder_note"] = STOPS if awaiting is None else STOPS_ONCE_APPROVED
        msg = self._build(kind, context, self._addresses(to, unit), self._addresses(cc, unit), now, message_id)
        return _tag(msg, period, step or kind)

    def digest(self, period: Period, states: list[Standing], to: Iterable[str], now: datetime,
               message_id: str, step: str = "digest") -> EmailMessage:
        def row(s: Standing) -> dict[str, Any]:
            waits = getattr(s, "awaiting", None)
            return {"name": s.name, "received": short_datetime(to_local(s.received_at)) if s.received_at else "",
                    "contacts": self._contacts(s.code),
                    # Sent but not counted yet, or counted but sent back: the office calls neither as missing.
                    "awaiting": short_datetime(to_local(waits.received_at)) if waits is not None else "",
                    "returned": getattr(s, "returned", None) is not None}

        context = self._base(period, now) | {
            "as_of": short_datetime(to_local(now)),
            # "đã quá hạn" would read as if the office were late: say the deadline has passed.
            "remaining_office": remaining(period.due, to_local(now).date(), late="đã qua hạn"),
            "total": len(states),
            "reported": [row(s) for s in states if s.state != "missing"],
            "on_time": [row(s) for s in states if s.state == "on_time"],
            "late": [row(s) for s in states if s.state == "late"],
            "missing": [row(s) for s in states if s.state == "missing" and getattr(s, "awaiting", None) is None],
            "awaiting": [row(s) for s in states if s.state == "missing" and getattr(s, "awaiting", None) is not None],
        }
        return _tag(self._build("digest", context, self._addresses(to, None), [], now, message_id), period, step)

    def receipt(self, period: Period, unit: Unit, to: Iterable[str], revision: int, received_at: datetime,
                on_time: bool, figures: dict[str, Any], narrative: dict[str, str], now: datetime,
                message_id: str, link: str | None = None, channel: str = "form",
                also: Iterable[tuple[Period, int, dict, dict]] = (), awaiting_head: bool = False) -> EmailMessage:
        """`also`: (period, revision, figures, narrative) of the other parts of a one-day form
        stored by the same submission: one receipt for what was sent together. `awaiting_head`:
        the plan wants the unit's head to approve it before it counts."""
        rows, texts = self._received(period, unit, figures, narrative)
        more = []
        for other, other_revision, other_figures, other_narrative in also:
            other_rows, other_texts = self._received(other, unit, other_figures, other_narrative)
            more.append({"title": part_title(self.config, other), "revision": other_revision,
                         "figures": other_rows, "narrative": other_texts})
        context = self._base(period, now) | {
            "unit_name": unit.name, "revision": revision, "received": short_datetime(to_local(received_at)),
            "on_time": on_time, "figures": rows, "narrative": texts, "link": link,
            "by_office": channel != "form", "also": more, "awaiting_head": awaiting_head,
            "reminder_note": STOPS_ONCE_APPROVED if awaiting_head else STOPS,
        }
        return _tag(self._build("receipt", context, self._addresses(to, unit), [], now, message_id), period,
                    f"receipt#{revision}")

    def returned(self, period: Period, unit: Unit, to: Iterable[str], cc: Iterable[str], revision: int,
                 received_at: datetime, comment: str, now: datetime, message_id: str, link: str | None,
                 step: str, by_head: bool = False) -> EmailMessage:
        """Revision `revision` sent back for correction, with why; `by_head`: by the unit's own
        head from the approval page rather than by the office."""
        today = to_local(now).date()
        context = self._base(period, now) | {
            "unit_name": unit.name, "revision": revision, "received": short_datetime(to_local(received_at)),
            "comment": unicodedata.normalize("NFC", comment).strip(), "link": link, "by_head": by_head,
            "past_due": (period.due - today).days <= 0}
        msg = self._build("returned", context, self._addresses(to, unit), self._addresses(cc, unit), now, message_id)
        return _tag(msg, period, step)

    def approval(self, period: Period, unit: Unit, to: Iterable[str], revision: int, received_at: datetime,
                 submitted_by: str, figures: dict[str, Any], narrative: dict[str, str], now: datetime,
                 message_id: str, link: str, step: str) -> EmailMessage:
        """To the unit's head: what the focal point sent, and the page where it is approved or
        returned. Until then the report does not count as submitted."""
        rows, texts = self._received(period, unit, figures, narrative)
        context = self._base(period, now) | {
            "unit_name": unit.name, "head_name": unit.head.name, "revision": revision,
            "received": short_datetime(to_local(received_at)), "submitted_by": submitted_by,
            "figures": rows, "narrative": texts, "link": link}
        return _tag(self._build("approval", context, self._addresses(to, unit), [], now, message_id), period, step)

    def _contacts(self, code: str) -> str:
        """How the office reaches a unit's focal points: "Nguyễn Văn An, điện thoại 0222 3855 xxx";
        by email when units.yaml gives no phone."""
        unit = self.config.unit(code)
        if unit is None:
            return ""
        return "; ".join(f"{p.name}, điện thoại {p.phone}" if p.phone else f"{p.name}, {p.email}"
                         for p in unit.focal_points)

    def _received(self, period: Period, unit: Unit, figures: dict, narrative: dict) -> tuple[list, list]:
        """What a unit sent for a period, as a receipt lists it: in the form's order, counts in their unit."""
        rows = []
        for a in asked(self.config, period, unit):
            if a.id in figures:
                value, ind = figures[a.id], a.ind
                shown = figure_text({"num": value["num"]} if value and ind.parent else value)
                if value and ind.kind == "count" and ind.unit:
                    shown += f" {ind.unit}"
                rows.append({"name": ("trong đó: " if ind.parent else "") + ind.name, "value": shown})
        texts = [{"title": h.title, "text": narrative[h.id]} for h in headings_for(self.config, period, unit)
                 if narrative.get(h.id)]
        return rows, texts

    def report(self, period: Period, version: int, filename: str, content: bytes, made: datetime, counts: dict,
               changes: list[str], to: Iterable[str], now: datetime, message_id: str,
               pdf: bytes | None = None) -> EmailMessage:
        """The DOCX attached (the office edits and signs it), then its PDF when one was made."""
        pdf_name = f"{filename.removesuffix('.docx')}.pdf" if pdf is not None else None
        context = self._base(period, now) | counts | {
            "version": version, "filename": filename, "pdf_filename": pdf_name,
            "made": short_datetime(to_local(made)), "changes": changes}
        msg = self._build("report", context, self._addresses(to, None), [], now, message_id)
        msg.add_attachment(content, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename=filename)
        if pdf is not None:
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_name)
        return _tag(msg, period, f"report-v{version}")

    # -- plumbing ---------------------------------------------------------------------------

    def _addresses(self, emails: Iterable[str], unit: Unit | None) -> list[Address]:
        names: dict[str, str] = {}
        if unit is not None:
            names = {p.email: p.name for p in unit.focal_points} | {unit.head.email: unit.head.name}
        found = []
        for e in emails:
            key = (names.get(e, ""), e)
            if key not in self._known:
                try:
                    self._known[key] = Address(display_name=header_text(key[0]), addr_spec=e)
                except (ValueError, TypeError, IndexError) as exc:  # email.errors defects are ValueErrors
                    raise BadAddress(f"địa chỉ '{e}' không dùng được trong thư: {exc}") from exc
            found.append(self._known[key])
        return found

    def _build(self, kind: str, context: dict[str, Any], to: list[Address], cc: list[Address],
               now: datetime, message_id: str) -> EmailMessage:
        subject = header_text(self.text_env.get_template(f"{kind}.subject.txt").render(context))
        context = context | {"subject": subject}
        text = self.text_env.get_template(f"{kind}.txt").render(context)
        html = self.html_env.get_template(f"{kind}.html").render(context)
        msg = EmailMessage()
        # Every header is set raw: each value is encoded and folded here (see address_list), so the
        # email package's header parser, which costs more than the rest of a message, never runs.
        # Encoded here, not by the email package: Python 3.11's folder drops the space between
        # two encoded words of a long UTF-8 subject ("rà soát" arrives as "ràsoát").
        msg.set_raw("Subject", _subject(subject))
        msg.set_raw("From", self._from)
        msg.set_raw("To", address_list(to))  # stored as is: see address_list
        if cc:
            msg.set_raw("Cc", address_list(cc))
        msg.set_raw("Date", format_datetime(to_local(now)))
        msg.set_raw("Message-ID", header_text(message_id))
        msg.set_raw("Auto-Submitted", "auto-generated")
        msg.set_raw("X-Auto-Response-Suppress", "All")  # stops Exchange out-of-office replies
        msg.set_raw("MIME-Version", "1.0")
        msg.set_raw("Content-Type", f'multipart/alternative;\n boundary="{_boundary()}"')  # folded: 78 columns
        msg.attach(_text_part("plain", text))
        msg.attach(_text_part("html", html))
        return msg


@functools.lru_cache(maxsize=256)
def _subject(subject: str) -> str:
    # A tick sends the same subject to every unit of a period: encoded once.
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")


_BOUNDARY = re.compile(r'^multipart/[a-z]+;\s*boundary="([^"]+)"$', re.IGNORECASE)


def wire(msg: EmailMessage) -> bytes:
    """The message as SMTP carries it (CRLF, 8bit bodies as they are): what the email package's
    BytesGenerator writes with policy SMTP, written directly for the messages _build makes (raw
    headers, text parts), where the generator would parse each part's headers again and cost more
    than composing. Anything else (a report's attachments) goes through the generator."""
    out: list[bytes] = []
    if not _write(msg, out):
        return msg.as_bytes(policy=SMTP_POLICY)
    return b"".join(out)


def _write(part: Message, out: list[bytes]) -> bool:
    content_type = ""
    for name, value in part.raw_items():
        if name.lower() == "content-type":
            content_type = value
        # Only plain strings we folded ourselves; a header object, or a line SMTP refuses, is the
        # generator's.
        if type(value) is not str or any(len(line) > 998 for line in value.split("\n")):
            return False
        out.append(f"{name}: {value}".replace("\n", "\r\n").encode("ascii", "surrogateescape") + b"\r\n")
    out.append(b"\r\n")
    # The stored payload itself: get_payload() and get_boundary() parse the part's headers again
    # (the very cost this avoids). tests/mail checks these bytes against the generator's.
    payload = part._payload
    if isinstance(payload, list):
        found = _BOUNDARY.search(content_type)
        boundary = found.group(1) if found else None
        if boundary is None or part.preamble is not None or part.epilogue is not None:
            return False
        for sub in payload:
            out.append(f"--{boundary}\r\n".encode())
            if not _write(sub, out):
                return False
            out.append(b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return True
    if not isinstance(payload, str):
        return False
    lines = payload.encode("ascii", "surrogateescape").split(b"\n")  # 8bit bytes are held as surrogates
    out.append(b"\r\n".join(lines[:-1]) + (b"\r\n" if len(lines) > 1 else b"") + lines[-1])
    return True


def _boundary() -> str:
    # The email package's own shape, and its own source of randomness (no secret: only a text of
    # ours must never contain it).
    return "=" * 15 + f"{random.getrandbits(80):020x}" + "=="


def _text_part(subtype: str, text: str) -> MIMEPart:
    """A UTF-8 text part, as EmailMessage.set_content makes it: 8bit keeps the .eml in the outbox
    readable in any editor; a line too long for SMTP (a unit's long paragraph in a receipt)
    needs quoted-printable instead."""
    body = ("\n".join(unicodedata.normalize("NFC", text).splitlines()) + "\n").encode("utf-8")
    part = MIMEPart()
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    if max((len(line) for line in body.split(b"\n")), default=0) > 900:
        part.set_raw("Content-Transfer-Encoding", "quoted-printable")
        part.set_payload(quoprimime.body_encode(body.decode("latin-1"), 76))
    else:
        part.set_raw("Content-Transfer-Encoding", "8bit")
        part.set_payload(body.decode("ascii", "surrogateescape"))  # how the email package holds 8bit bytes
    return part
