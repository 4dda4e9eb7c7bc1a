"""SMTP from `SMTP_URL`: one connection for a batch, temporary refusals retried with backoff.

    smtp://host:25                        plain (a local relay)
    smtp://user:password@host:587?starttls=1   STARTTLS, then AUTH
    smtps://user:password@host:465        implicit TLS (SMTPS), then AUTH
    ...?cafile=/path/ca.pem               trust this CA (a private relay's certificate)
    ...?timeout=30                        seconds per SMTP command

User and password may be percent-encoded. The password is never logged nor shown: `redacted(url)`
is what messages print. Outcomes of `Mailer.send`:
- SENT: the server accepted the message (250);
- PERMANENT: a 5xx refusal of this message (unknown mailbox, policy): recorded failed, never retried;
- TEMPORARY: a 4xx refusal still there after the retries (greylisting, mailbox busy): left for the next run.
A connection that cannot be (re)established after the retries raises `SmtpUnavailable`: the batch stops
(every other message would fail the same way) and leaves the rest for the next run.
"""
from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

TRUE = {"1", "true", "yes", "on"}


class Outcome(StrEnum):
    sent = "sent"
    permanent = "permanent"
    temporary = "temporary"


class SmtpUnavailable(Exception):
    """The server cannot be reached or refuses the session (connection, TLS, authentication)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps:// (got {parts.scheme or 'nothing'}://)")
        if not parts.hostname:
            raise ValueError("SMTP_URL names no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        starttls = query.get("starttls", query.get("tls", "")).lower() in TRUE
        port = parts.port or (465 if implicit else 587 if starttls else 25)
        return cls(host=parts.hostname, port=port, implicit_tls=implicit, starttls=starttls and not implicit,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   cafile=query.get("cafile"), timeout=float(query.get("timeout", 30)))

    def redacted(self) -> str:
        who = f"{self.username}:***@" if self.username else ""
        mode = "smtps" if self.implicit_tls else "smtp"
        return f"{mode}://{who}{self.host}:{self.port}" + ("?starttls=1" if self.starttls else "")

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


def _code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return max(codes) if codes else None
    return getattr(exc, "smtp_code", None)


def describe(exc: Exception) -> str:
    """An SMTP error as a short line for the outbox and the report (the server's words, no credentials)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                 for code, msg in exc.recipients.values()]
        return "; ".join(parts)[:240]
    code, msg = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if code is not None:
        text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
        return f"{code} {text}"[:240]
    return f"{type(exc).__name__}: {exc}"[:240]


class Mailer:
    """One SMTP session reused across messages; reconnects when the server drops it."""

    def __init__(self, config: SmtpConfig, *, retries: int = 3, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.config, self.retries, self.backoff, self.sleep = config, retries, backoff, sleep
        self.client: smtplib.SMTP | None = None
        self.retried = 0  # temporary failures met (and retried) in this batch

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                try:
                    self.client.close()
                except OSError:
                    pass
            self.client = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.implicit_tls:
            client = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=c.tls_context())
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            if c.starttls:
                client.starttls(context=c.tls_context())
                client.ehlo()
        if c.username:
            client.ehlo_or_helo_if_needed()
            if "plain" in client.esmtp_features.get("auth", "").lower().split():
                # One mechanism: smtplib's login() would go on to LOGIN after a refused PLAIN.
                client.user, client.password = c.username, c.password or ""
                client.auth("PLAIN", client.auth_plain)
            else:
                client.login(c.username, c.password or "")
        return client

    def _wait(self, attempt: int) -> None:
        self.retried += 1
        self.sleep(self.backoff * (2 ** attempt))

    def send(self, message) -> tuple[Outcome, str | None]:
        """Send one message (`compose.Outgoing`: envelope and bytes): (outcome, the server's last refusal or None)."""
        last_error = None
        for attempt in range(self.retries + 1):
            try:
                if self.client is None:
                    self.client = self._connect()
                self.client.sendmail(message.sender, [message.recipient], message.data)
                return Outcome.sent, None
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
                self.close()
                raise SmtpUnavailable(f"authentication refused by {self.config.redacted()}: {describe(exc)}") from exc
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                    smtplib.SMTPResponseException) as exc:
                code = _code(exc) or 0
                last_error = describe(exc)
                if 500 <= code < 600:
                    self._reset()
                    return Outcome.permanent, last_error
                if code == 421:  # the server closes the session: reconnect
                    self.close()
                else:
                    self._reset()
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ssl.SSLError, OSError) as exc:
                last_error = describe(exc)
                self.close()
                if attempt == self.retries:
                    raise SmtpUnavailable(f"{self.config.redacted()} unreachable: {last_error}") from exc
            if attempt < self.retries:
                self._wait(attempt)
        return Outcome.temporary, last_error

    def _reset(self) -> None:
        """After a refused transaction, RSET so the session can carry the next message."""
        if self.client is None:
            return
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
