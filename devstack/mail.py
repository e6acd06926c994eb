"""The local stack's outbox: the ``Mailer`` port keeping what it is given, for tests and the demo to read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SentMail:
    to: str
    subject: str
    body: str


@dataclass
class MailSink:
    sent: list[SentMail] = field(default_factory=list)

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(SentMail(to, subject, body))
