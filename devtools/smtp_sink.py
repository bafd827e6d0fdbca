"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives.

    with SmtpSink() as sink:                      # plain
    with SmtpSink(username="u", password="p"):    # AUTH required
    with SmtpSink(tls_cert=cert):                 # STARTTLS required (see devtools.tls)

`python -m devtools.smtp_sink --port 1025 --maildir var/mail` runs it as a local
stand-in that saves every message as an `.eml` file.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from devtools.tls import SelfSignedCert


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None
    over_tls: bool

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class SmtpSink:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls_cert: SelfSignedCert | None = None,
        maildir: Path | None = None,
    ) -> None:
        self.username, self.password, self.tls_cert, self.maildir = username, password, tls_cert, maildir
        self.host, self.port = "127.0.0.1", 0
        self.messages: list[ReceivedMail] = []
        self.failed_logins: list[str] = []
        self._controller: Controller | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        self.host, self.port = host, port or free_port(host)
        kwargs: dict[str, Any] = {}
        if self.tls_cert is not None:
            kwargs |= {"tls_context": self.tls_cert.server_context(), "require_starttls": True}
        if self.username is not None:
            # AUTH is enforced in handle_MAIL, so that AUTH over plain text works in tests
            # without aiosmtpd's warning about auth_required without TLS.
            kwargs |= {"auth_require_tls": self.tls_cert is not None, "authenticator": self._authenticate}
        self._controller = Controller(self, hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return list(self.messages)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        if self.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        mail = ReceivedMail(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content,
            login,
            session.ssl is not None,
        )
        self.messages.append(mail)
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
            (self.maildir / f"{time.time_ns()}.eml").write_bytes(mail.raw)
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) == (self.username, self.password):
            return AuthResult(success=True, auth_data=auth_data)
        self.failed_logins.append(login)
        return AuthResult(success=False, handled=False)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    sink = SmtpSink(maildir=args.maildir).start(args.host, args.port)
    print(f"SMTP sink on {sink.host}:{sink.port}, saving to {args.maildir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
