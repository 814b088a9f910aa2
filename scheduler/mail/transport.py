"""Delivery: SMTP through aiosmtplib, or .eml files in an outbox when no SMTP is configured.

A transport opens connections; a connection sends one message at a time and reports its
outcome: sent, a permanent failure (a 5xx: retrying cannot help) or a transient one (the server
is down or said 4xx: retry later). It never raises for a message's own failure. One message at a
time, so that the caller can record each outcome in the ledger as soon as SMTP has answered:
a crash then repeats at most the messages in flight, never a finished batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Protocol

import aiosmtplib

from scheduler.text import os_error
from scheduler.store.sends import Outcome
from scheduler.settings import Settings

log = logging.getLogger("baocao.mailer")

_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, OSError)


@dataclass
class Outgoing:
    key: int  # ledger row id
    message: EmailMessage
    name: str  # a readable file name stem, for the outbox
    recipients: list[str] | None = None  # envelope recipients when not everyone in the headers
    # The message's SMTP bytes (compose.wire), made in a worker thread so that the event loop,
    # which also serves the web, does not flatten messages; with the envelope they are sent as
    # they are. None: the transport flattens the message itself.
    data: bytes | None = None
    envelope: list[str] | None = None  # every envelope recipient, when data is given
    sender: str | None = None


class Connection(Protocol):
    async def send(self, item: Outgoing) -> Outcome: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    def connection(self) -> Connection: ...


class OutboxTransport:
    """Dry run: each message becomes a readable .eml file; nothing leaves the machine."""

    def __init__(self, directory: Path):
        self.directory = directory

    def connection(self) -> "OutboxTransport":
        return self

    async def send(self, item: Outgoing) -> Outcome:
        try:
            # Private to the service's user: each message holds a unit's working form link.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", item.name)
            final = self.directory / f"{safe}.eml"
            tmp = final.with_suffix(f".{os.getpid()}.eml.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(item.data if item.data is not None else item.message.as_bytes(policy=SMTP_POLICY))
            os.replace(tmp, final)  # a reader never sees half a message
        except OSError as exc:  # a full disk or a read-only folder: the admin fixes it, the mail waits
            return Outcome("transient", f"không ghi được thư vào {self.directory}: {os_error(exc)}")
        return Outcome("sent")

    async def close(self) -> None:
        return None


def _refused(errors: dict) -> str:
    return "; ".join(f"{addr}: {resp.code} {resp.message}" for addr, resp in errors.items())


def _as_bytes(client: aiosmtplib.SMTP, item: Outgoing) -> bool:
    """Whether the prepared bytes can go as they are: 8bit bodies need a server that takes them
    (else send_message re-encodes the message for 7 bits), and non-ASCII addresses need SMTPUTF8,
    which send_message negotiates."""
    if item.data is None or not item.envelope or not item.sender:
        return False
    if not all(a.isascii() for a in (item.sender, *item.envelope)):
        return False
    return client.supports_extension("8BITMIME") or item.data.isascii()


class SmtpTransport:
    """A few connections per delivery pass, each reused for many messages. None outlives its
    pass: a long-lived aiosmtplib connection can hang after the server timed it out (PITFALLS)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.port, timeout=s.smtp_timeout,
            use_tls=s.smtp_security == "tls", start_tls=s.smtp_security == "starttls",
            username=s.smtp_username, password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            tls_context=ssl.create_default_context(cafile=s.smtp_ca_file) if s.smtp_security != "none" else None,
        )

    async def _backoff(self, attempt: int) -> None:
        """Exponential with jitter, so several instances do not hammer a recovering server together."""
        await asyncio.sleep(self.settings.smtp_retry_base * (2 ** attempt) * random.uniform(0.5, 1.5))

    async def _connect(self) -> tuple[aiosmtplib.SMTP | None, str | None]:
        last = None
        for attempt in range(self.settings.smtp_attempts):
            client = self._client()
            try:
                await client.connect()
                if client.is_ehlo_or_helo_needed:
                    try:
                        await client.ehlo()  # its extensions (8BITMIME) decide how each message goes
                    except aiosmtplib.SMTPHeloError:
                        pass  # a HELO-only server: send_message says HELO itself
                return client, None
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                last = f"không kết nối được máy chủ SMTP {self.settings.smtp_host}:{self.settings.port}: {exc}"
                log.warning("%s (lần %d)", last, attempt + 1)
                if attempt + 1 < self.settings.smtp_attempts:
                    await self._backoff(attempt)
        return None, last

    async def _send_one(self, client: aiosmtplib.SMTP, item: Outgoing) -> Outcome:
        """Send one message; connection-level errors propagate so the caller can reconnect."""
        try:
            if _as_bytes(client, item):
                # What send_message would do, without flattening the message again on the loop.
                options = ["BODY=8BITMIME"] if client.supports_extension("8BITMIME") else []
                refused, _ = await client.sendmail(item.sender, item.envelope, item.data, mail_options=options)
            else:
                refused, _ = await client.send_message(item.message, recipients=item.recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            permanent = all(e.code >= 500 for e in exc.recipients)
            text = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
            return Outcome("permanent" if permanent else "transient", f"máy chủ từ chối người nhận: {text}")
        except _CONNECTION_ERRORS:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            # A refused sender is our own configuration, fixable by the admin: keep retrying.
            permanent = exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPSenderRefused)
            return Outcome("permanent" if permanent else "transient", f"máy chủ SMTP trả lời {exc.code} {exc.message}")
        except aiosmtplib.SMTPException as exc:
            return Outcome("transient", f"lỗi SMTP: {exc}")
        if refused:
            later = tuple(addr for addr, resp in refused.items() if resp.code < 500)
            text = f"một số người nhận bị từ chối: {_refused(refused)}"
            # Delivered to the others. "Try later" answers are retried to those addresses only;
            # permanent refusals stay visible in the ledger.
            return Outcome("transient", text, retry_rcpts=later) if later else Outcome("sent", text)
        return Outcome("sent")

    def connection(self) -> "SmtpConnection":
        return SmtpConnection(self)


class SmtpConnection:
    """One SMTP connection, opened at the first message and reused for the next ones. A lost
    connection is reopened once per message (the server may have dropped an idle one); when the
    server cannot be reached at all, the remaining messages get the same transient outcome at
    once instead of each waiting through every connection attempt again."""

    def __init__(self, transport: SmtpTransport):
        self.transport = transport
        self.client: aiosmtplib.SMTP | None = None
        self.unreachable: str | None = None

    async def send(self, item: Outgoing) -> Outcome:
        if self.unreachable is not None:
            return Outcome("transient", self.unreachable)
        error = None
        for attempt in (1, 2):
            if self.client is None:
                self.client, error = await self.transport._connect()
                if self.client is None:
                    self.unreachable = error
                    return Outcome("transient", error)
            try:
                return await self.transport._send_one(self.client, item)
            except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS) as exc:
                error = f"mất kết nối SMTP khi gửi: {exc}"
                log.warning("%s", error)
                self.client.close()
                self.client = None
        return Outcome("transient", error)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
                client.close()


def make_transport(settings: Settings) -> Transport:
    return OutboxTransport(settings.outbox_dir) if settings.dry_run else SmtpTransport(settings)
