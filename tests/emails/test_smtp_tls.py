"""SMTP_URL's TLS modes against aiosmtpd with a certificate made for the test: implicit TLS (smtps://),
STARTTLS then AUTH (smtp://...?starttls=1, the server refusing AUTH before TLS), and a certificate the client
does not trust refused (the batch stops, nothing is sent)."""
from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.emails.conftest import Handler, Mailbox, free_port, make_app
from tests.emails.test_weekly_emails import label, send


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def _check(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"mailer", b"pa55:w/rd"), handled=False)


def test_implicit_tls(sqlite_only_world, certificate):
    cert, context = certificate
    box, port = Mailbox(), free_port()
    controller = Controller(Handler(box), hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        url, info = sqlite_only_world
        result = send(make_app(url, f"smtps://127.0.0.1:{port}?cafile={cert}"), "--week", label(info), "--only",
                      "planner")
        assert result.exit_code == 0, result.output
        assert box.messages and "0 failed" in result.output
    finally:
        controller.stop()


def test_starttls_then_authentication_with_an_encoded_password(sqlite_only_world, certificate):
    cert, context = certificate
    box, port = Mailbox(), free_port()
    controller = Controller(Handler(box), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=_check, auth_required=True)
    controller.start()
    try:
        url, info = sqlite_only_world
        smtp_url = f"smtp://mailer:pa55%3Aw%2Frd@127.0.0.1:{port}?starttls=1&cafile={cert}"
        result = send(make_app(url, smtp_url), "--week", label(info), "--only", "planner")
        assert result.exit_code == 0, result.output
        assert box.messages and "pa55" not in result.output
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused(sqlite_only_world, certificate):
    _cert, context = certificate
    box, port = Mailbox(), free_port()
    controller = Controller(Handler(box), hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        url, info = sqlite_only_world
        result = send(make_app(url, f"smtps://127.0.0.1:{port}"), "--week", label(info), "--only", "planner",
                      "--retries", "0")
        assert result.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in result.output
        assert box.messages == []
    finally:
        controller.stop()
