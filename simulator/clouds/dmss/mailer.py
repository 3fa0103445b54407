"""Delivers the DMSS outbox to an SMTP server.

stdlib smtplib in a worker thread rather than aiosmtplib: one mail per appeal
event is no load, and it spares a runtime dependency. Each mail is tried once
per settle; a failure is kept on the mail (`error`) and retried next time.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from nvrsim.simulator.clouds.dmss.rules import Mail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "DMSS <no-reply@dmss.example.com>"
    timeout: float = 10.0


def message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, mail.to, mail.subject
    msg["X-DMSS-Mail-Id"] = str(mail.id)
    if mail.appeal is not None:
        msg["X-DMSS-Appeal"] = str(mail.appeal)
    msg.set_content(mail.body)
    return msg


class Mailer:
    def __init__(self, settings: SmtpSettings | None) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()

    async def deliver(self, mails: list[Mail]) -> None:
        if self.settings is None:
            return
        async with self._lock:  # one delivery run at a time: no mail goes twice
            for mail in mails:
                if mail.delivered:
                    continue
                try:
                    await asyncio.to_thread(self._send, mail)
                except (OSError, smtplib.SMTPException) as exc:
                    mail.error = str(exc) or type(exc).__name__
                    log.warning("DMSS: cannot deliver mail %d to %s: %s", mail.id, mail.to, exc)
                else:
                    mail.delivered, mail.error = True, ""

    def _send(self, mail: Mail) -> None:
        settings = self.settings
        assert settings is not None
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.send_message(message(mail, settings.sender))
