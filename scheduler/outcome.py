"""What became of one attempt to send a message: the mailer reports it, the ledger records it.

Its own module so that the ledger (used by every command) does not import the SMTP client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | permanent | transient | cancelled (no longer owed)
    error: str | None = None  # what went wrong, for the ledger and `baocao status`
    # Recipients that said "try later" (4xx, e.g. greylisting) while others accepted: the
    # message goes again, with the same Message-ID, to these addresses only.
    retry_rcpts: tuple[str, ...] = ()
