"""The send ledger's vocabulary, without the database: a send's Message-ID, given when the send
is claimed so that every retry carries the same one, and what became of one attempt to send it
(the mail transport reports it, the ledger records it).

Its own module so that the ledger, used by every command, imports neither the SMTP client nor
the composing of mail, and the transports need no database to say what happened."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid


def new_message_id(mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2] or "baocao.local"
    return make_msgid(idstring="baocao", domain=domain)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | permanent | transient | cancelled (no longer owed)
    error: str | None = None  # what went wrong, for the ledger and `baocao status`
    # Recipients that said "try later" (4xx, e.g. greylisting) while others accepted: the
    # message goes again, with the same Message-ID, to these addresses only.
    retry_rcpts: tuple[str, ...] = ()
