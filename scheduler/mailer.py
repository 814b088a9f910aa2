"""Delivery: SMTP through aiosmtplib, or .eml files in an outbox when no SMTP is configured.

A transport takes a batch of messages and reports, per message, one outcome: sent, a
permanent failure (a 5xx: retrying cannot help) or a transient one (the server is down or
said 4xx: retry later). It never raises for a message's own failure.
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
from typing import Iterator, Protocol

import aiosmtplib

from scheduler.outcome import Outcome
from scheduler.settings import Settings

log = logging.getLogger("baocao.mailer")

_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, OSError)


@dataclass
class Outgoing:
    key: int  # ledger row id
    message: EmailMessage
    name: str  # a readable file name stem, for the outbox
    recipients: list[str] | None = None  # envelope recipients when not everyone in the headers


class Transport(Protocol):
    async def deliver(self, batch: list[Outgoing]) -> dict[int, Outcome]: ...


class OutboxTransport:
    """Dry run: each message becomes a readable .eml file; nothing leaves the machine."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def deliver(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        self.directory.mkdir(parents=True, exist_ok=True)
        results = {}
        for item in batch:
            safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", item.name)
            final = self.directory / f"{safe}.eml"
            tmp = final.with_suffix(".eml.tmp")
            tmp.write_bytes(item.message.as_bytes(policy=SMTP_POLICY))
            os.replace(tmp, final)  # a reader never sees half a message
            results[item.key] = Outcome("sent")
        return results


def _refused(errors: dict) -> str:
    return "; ".join(f"{addr}: {resp.code} {resp.message}" for addr, resp in errors.items())


class SmtpTransport:
    """A few connections per batch, each reused for many messages. None outlives its batch:
    a long-lived aiosmtplib connection can hang after the server timed it out (PITFALLS)."""

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

    async def _worker(self, items: Iterator[Outgoing], results: dict[int, Outcome]) -> None:
        client, error = await self._connect()
        try:
            for item in items:  # shared by the workers: each message is taken by one of them
                for attempt in (1, 2):
                    if client is None:
                        results[item.key] = Outcome("transient", error)
                        break
                    try:
                        results[item.key] = await self._send_one(client, item)
                        break
                    except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS) as exc:
                        error = f"mất kết nối SMTP khi gửi: {exc}"
                        log.warning("%s", error)
                        client.close()
                        client = None
                        if attempt == 1:  # the server may have dropped an idle connection
                            client, reconnect_error = await self._connect()
                            error = reconnect_error or error
                        else:
                            results[item.key] = Outcome("transient", error)
        finally:
            if client is not None:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
                    client.close()

    async def deliver(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        items = iter(batch)
        results: dict[int, Outcome] = {}
        workers = min(self.settings.smtp_connections, len(batch))
        await asyncio.gather(*(self._worker(items, results) for _ in range(workers)))
        return results


def make_transport(settings: Settings) -> Transport:
    return OutboxTransport(settings.outbox_dir) if settings.dry_run else SmtpTransport(settings)
