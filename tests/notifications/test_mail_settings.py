"""The SMTP settings: off without a host, checked at start-up, the password never shown."""

from __future__ import annotations

import base64
import secrets

import pytest

from casemgmt.settings import SettingsError, load_settings


def env(tmp_path, production: bool = False, **values: str) -> dict[str, str]:
    found = {
        "CASEMGMT_ENV": "production" if production else "testing",
        "CASEMGMT_INSTANCE_PATH": str(tmp_path),
        "CASEMGMT_SECRET_KEY": secrets.token_urlsafe(48),
        "CASEMGMT_ROOT_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    if production:
        found.update(CASEMGMT_DATABASE_URL="postgresql://casemgmt@db.internal/casemgmt",
                     CASEMGMT_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    found.update({"CASEMGMT_" + k: v for k, v in values.items()})
    return found


def test_no_host_no_email(tmp_path):
    settings = load_settings(environ=env(tmp_path))
    assert not settings.mail.enabled


def test_a_complete_mail_configuration(tmp_path):
    settings = load_settings(environ=env(
        tmp_path, production=True, SMTP_HOST="smtp.example.org", SMTP_FROM="casemgmt@example.org",
        SMTP_USER="casemgmt", SMTP_PASSWORD="relay-password-from-the-vault", PUBLIC_URL="https://cm.example.org/"))
    mail = settings.mail
    assert (mail.enabled, mail.host, mail.port, mail.security, mail.digest_minutes) == (
        True, "smtp.example.org", 587, "starttls", 15)
    assert settings.public_url == "https://cm.example.org"
    assert "relay-password-from-the-vault" not in repr(settings) and "relay-password" not in str(settings)
    assert load_settings(environ=env(tmp_path, SMTP_HOST="h", SMTP_FROM="a@b.example", SMTP_SECURITY="ssl",
                                     PUBLIC_URL="http://localhost:5000")).mail.port == 465


@pytest.mark.parametrize(("values", "fragment"), [
    ({"SMTP_FROM": "a@b.example"}, "CASEMGMT_PUBLIC_URL"),
    ({"PUBLIC_URL": "https://cm.example.org"}, "CASEMGMT_SMTP_FROM"),
    ({"SMTP_FROM": "a@b.example", "PUBLIC_URL": "https://cm.example.org", "SMTP_SECURITY": "tls1.0"},
     "CASEMGMT_SMTP_SECURITY"),
    ({"SMTP_FROM": "a@b.example", "PUBLIC_URL": "https://cm.example.org", "SMTP_USER": "u"},
     "CASEMGMT_SMTP_PASSWORD"),
    ({"SMTP_FROM": "a@b.example", "PUBLIC_URL": "https://cm.example.org", "SMTP_PORT": "70000"}, "port"),
    ({"SMTP_FROM": "a@b.example", "PUBLIC_URL": "ftp://cm.example.org"}, "CASEMGMT_PUBLIC_URL"),
    ({"SMTP_FROM": "a@b.example", "PUBLIC_URL": "https://cm.example.org", "SMTP_CA_FILE": "/nonexistent.pem"},
     "CASEMGMT_SMTP_CA_FILE"),
])
def test_an_incomplete_mail_configuration_refuses_to_start(tmp_path, values, fragment):
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=env(tmp_path, SMTP_HOST="smtp.example.org", **values))
    assert fragment in str(refused.value)


def test_production_refuses_a_password_in_clear_and_a_plain_http_link(tmp_path):
    base = {"SMTP_HOST": "smtp.example.org", "SMTP_FROM": "a@b.example"}
    with pytest.raises(SettingsError, match="SMTP_SECURITY starttls or ssl"):
        load_settings(environ=env(tmp_path, production=True, SMTP_SECURITY="none", SMTP_USER="u",
                                  SMTP_PASSWORD="p", PUBLIC_URL="https://cm.example.org", **base))
    with pytest.raises(SettingsError, match="https://"):
        load_settings(environ=env(tmp_path, production=True, PUBLIC_URL="http://cm.example.org", **base))
