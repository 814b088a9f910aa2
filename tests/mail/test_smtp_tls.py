"""STARTTLS and implicit TLS with a login, against aiosmtpd with a throwaway certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import free_port, MailRecorder, tick_at

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    return cert, server_ctx


def authenticator(logins):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"vanphong", b"mat-khau")
        logins.append(ok)
        return AuthResult(success=ok)
    return check


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the implicit-TLS server above
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_out_over_tls_with_login(certificate, make_service, security):
    cert, server_ctx = certificate
    recorder, logins, port = MailRecorder(), [], free_port()
    # aiosmtpd only counts STARTTLS as TLS when deciding to offer AUTH, so for implicit TLS
    # (the whole connection is encrypted) it has to be told that AUTH is fine.
    tls = ({"tls_context": server_ctx, "require_starttls": True} if security == "starttls"
           else {"ssl_context": server_ctx, "auth_require_tls": False})
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator(logins),
                            auth_required=True, **tls)
    controller.start()
    try:
        service = make_service(port, smtp_security=security, smtp_ca_file=cert, smtp_username="vanphong",
                               smtp_password="mat-khau")
        result = tick_at(service, "2026-12-02T08:00:00+07:00")
    finally:
        controller.stop()
    assert (result.sent, result.failed, result.waiting) == (18, 0, 0)
    assert len(recorder.messages) == 18 and logins and all(logins)


def test_untrusted_certificate_is_a_transient_failure_not_a_silent_downgrade(certificate, make_service):
    cert, server_ctx = certificate
    recorder, port = MailRecorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=server_ctx)
    controller.start()
    try:
        service = make_service(port, smtp_security="tls", smtp_attempts=1)  # no CA file: not trusted
        result = tick_at(service, "2026-12-02T08:00:00+07:00")
    finally:
        controller.stop()
    assert (result.sent, result.waiting) == (0, 18)
    assert recorder.messages == []
