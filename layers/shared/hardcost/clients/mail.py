"""The daily digest's e-mail through Amazon SES (the ``Mailer`` port); SES's refusals in the error hierarchy."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.errors import PermanentError, UpstreamUnavailableError

RETRYABLE_CODES = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure", "TooManyRequests"}


class SesMailer:
    def __init__(self, ses: Any, sender: str) -> None:
        self._ses = ses
        self._sender = sender

    def send(self, to: str, subject: str, body: str) -> None:
        try:
            self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in RETRYABLE_CODES:
                raise UpstreamUnavailableError(f"SES is unavailable ({code})") from exc
            raise PermanentError(f"SES refused the digest to {to} ({code})") from exc
        except BotoCoreError as exc:
            raise UpstreamUnavailableError(f"SES could not be reached ({type(exc).__name__})") from exc
