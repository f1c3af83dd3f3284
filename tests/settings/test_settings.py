"""Start-up checks (ASVS 6.4.1, 14.3.2): production refuses missing or weak secrets; development makes its own,
readable by the owner only, and reuses them."""

from __future__ import annotations

import base64
import secrets
import stat

import pytest

from casemgmt import create_app
from casemgmt.settings import SettingsError, load_settings, parse_key_ring

GOOD_SECRET = secrets.token_urlsafe(48)


def key(n: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(n)).decode()


def fixed_key(n: int = 32) -> str:
    """A well-formed key that is the same in every process: pytest-xdist workers must collect identical ids."""
    return base64.b64encode(bytes((7 * i + 3) % 256 for i in range(n))).decode()


def prod(tmp_path, **values) -> dict[str, str]:
    env = {
        "CASEMGMT_ENV": "production",
        "CASEMGMT_INSTANCE_PATH": str(tmp_path),
        "CASEMGMT_DATABASE_URL": "postgresql://casemgmt@db.internal/casemgmt",
        "CASEMGMT_SECRET_KEY": GOOD_SECRET,
        "CASEMGMT_ROOT_KEYS": f"1:{key()}",
        "CASEMGMT_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",  # production requires it (casemgmt/ratelimits.py)
    }
    for name, value in values.items():
        if value is None:
            env.pop("CASEMGMT_" + name, None)
        else:
            env["CASEMGMT_" + name] = value
    return env


def _refused(environ, *fragments: str) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_complete_production_configuration_loads(tmp_path):
    settings = load_settings(environ=prod(tmp_path))
    assert settings.is_production
    assert settings.require_2fa is True  # on by default in production
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert list(settings.root_keys) == [1]
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "keyring").exists()


def test_production_refuses_to_start_without_secret_key(tmp_path):
    message = _refused(prod(tmp_path, SECRET_KEY=None), "CASEMGMT_SECRET_KEY is not set")
    assert "secrets.token_urlsafe" in message  # tells the operator how to make one
    _refused(prod(tmp_path, SECRET_KEY=""), "CASEMGMT_SECRET_KEY is not set")
    assert not (tmp_path / "secret_key").exists()  # and does not invent one


@pytest.mark.parametrize("weak", ["changeme", "dev", "x" * 64, "abcabcabcabcabcabcabcabcabcabcabcabc",
                                  "change-me-change-me-change-me-change-me", "Zq8vW2mXr5tK9pL3nB7cY1dF6gH4jS0"])
def test_production_refuses_a_weak_secret_key(tmp_path, weak):
    _refused(prod(tmp_path, SECRET_KEY=weak), "CASEMGMT_SECRET_KEY is too weak", "32")


def test_production_refuses_to_start_without_root_keys(tmp_path):
    message = _refused(prod(tmp_path, ROOT_KEYS=None), "No encryption key material", "CASEMGMT_ROOT_KEYS")
    assert "keys generate" in message
    assert not (tmp_path / "keyring").exists()


@pytest.mark.parametrize(("ring", "fragment"), [
    ("not-a-key", "VERSION:BASE64KEY"),
    ("one:" + fixed_key(), "VERSION:BASE64KEY"),
    ("1:" + fixed_key() + "!!", "not valid base64"),
    ("1:%%%%", "not valid base64"),
    ("1:" + fixed_key(16), "must be 32 random bytes, got 16"),
    ("1:" + fixed_key(64), "must be 32 random bytes, got 64"),
    ("1:" + base64.b64encode(bytes(32)).decode(), "not random enough"),
    ("1:" + base64.b64encode(b"ab" * 16).decode(), "not random enough"),
    ("# only a comment", "holds no keys"),
])
def test_production_refuses_malformed_or_short_root_keys(tmp_path, ring, fragment):
    _refused(prod(tmp_path, ROOT_KEYS=ring), fragment)


def test_a_key_version_given_twice_is_refused(tmp_path):
    _refused(prod(tmp_path, ROOT_KEYS=f"1:{key()},1:{key()}"), "version 1", "more than once")


def test_key_ring_with_several_versions(tmp_path):
    first, second = key(), key()
    settings = load_settings(environ=prod(tmp_path, ROOT_KEYS=f"# rotated in 2025\n1:{first}\n 2:{second} \n"))
    assert settings.root_keys == {1: base64.b64decode(first), 2: base64.b64decode(second)}
    assert settings.current_kek_version == 2


def test_root_keys_from_a_file(tmp_path):
    path = tmp_path / "ring"
    path.write_text(f"3:{key()}\n")
    settings = load_settings(environ=prod(tmp_path, ROOT_KEYS=None, ROOT_KEYS_FILE=str(path)))
    assert list(settings.root_keys) == [3]


def test_a_missing_root_keys_file_is_a_settings_error(tmp_path):
    _refused(prod(tmp_path, ROOT_KEYS=None, ROOT_KEYS_FILE=str(tmp_path / "missing")), "CASEMGMT_ROOT_KEYS_FILE",
             "missing")


def test_production_needs_postgresql_unless_told_otherwise(tmp_path):
    _refused(prod(tmp_path, DATABASE_URL=None), "Production needs PostgreSQL")
    _refused(prod(tmp_path, DATABASE_URL="sqlite:////tmp/x.db"), "Production needs PostgreSQL")
    settings = load_settings(environ=prod(tmp_path, DATABASE_URL=None, ALLOW_SQLITE_IN_PRODUCTION="true"))
    assert settings.database_url.startswith("sqlite")
    _refused(prod(tmp_path, DATABASE_URL=None, ALLOW_SQLITE_IN_PRODUCTION="maybe"),
             "CASEMGMT_ALLOW_SQLITE_IN_PRODUCTION must be true or false")


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("ENV", "staging", "CASEMGMT_ENV must be one of"),
    ("REQUIRE_2FA", "sometimes", "CASEMGMT_REQUIRE_2FA must be true or false"),
    ("SESSION_IDLE_MINUTES", "ten", "CASEMGMT_SESSION_IDLE_MINUTES must be a whole number"),
    ("SESSION_IDLE_MINUTES", "0", "CASEMGMT_SESSION_IDLE_MINUTES must be at least 1"),
    ("LOGIN_MAX_FAILURES", "-1", "CASEMGMT_LOGIN_MAX_FAILURES must be at least 1"),
    ("ARGON2_MEMORY_KIB", "4", "CASEMGMT_ARGON2_MEMORY_KIB must be at least 8"),
])
def test_invalid_values_are_refused_with_the_variable_named(tmp_path, name, value, fragment):
    _refused(prod(tmp_path, **{name: value}), fragment)


def test_create_app_refuses_to_start_in_production_without_secrets(tmp_path, monkeypatch):
    for name, value in prod(tmp_path, SECRET_KEY=None).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError):
        create_app()


def test_production_app_runs_without_debug_and_with_strict_cookies(tmp_path):
    env = prod(tmp_path, DATABASE_URL=None, ALLOW_SQLITE_IN_PRODUCTION="true")
    app = create_app(settings=load_settings(environ=env))
    assert app.debug is False and app.testing is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["WTF_CSRF_SSL_STRICT"] is True
    assert app.secret_key == GOOD_SECRET


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_development_generates_private_secrets_and_reuses_them(tmp_path):
    instance = tmp_path / "instance"
    env = {"CASEMGMT_INSTANCE_PATH": str(instance)}
    first = load_settings(environ=env)
    assert first.env == "development" and first.require_2fa is False
    secret_file, ring_file = instance / "secret_key", instance / "keyring"
    assert _mode(secret_file) == 0o600 and _mode(ring_file) == 0o600
    assert _mode(instance) & 0o077 == 0
    assert first.secret_key == secret_file.read_text().strip() and len(first.secret_key) >= 32
    assert parse_key_ring(ring_file.read_text(), "ring") == dict(first.root_keys)
    assert len(first.root_keys[1]) == 32
    second = load_settings(environ=env)
    assert second.secret_key == first.secret_key
    assert second.root_keys == first.root_keys
    assert _mode(secret_file) == 0o600 and _mode(ring_file) == 0o600


def test_development_uses_given_secrets_without_writing_files(tmp_path):
    ring = f"1:{key()}"
    settings = load_settings(environ={"CASEMGMT_INSTANCE_PATH": str(tmp_path), "CASEMGMT_SECRET_KEY": GOOD_SECRET,
                                      "CASEMGMT_ROOT_KEYS": ring})
    assert settings.secret_key == GOOD_SECRET
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "keyring").exists()


def test_development_still_refuses_a_weak_secret_key(tmp_path):
    _refused({"CASEMGMT_INSTANCE_PATH": str(tmp_path), "CASEMGMT_SECRET_KEY": "dev"}, "too weak")


def test_each_development_instance_gets_its_own_secrets(tmp_path):
    a = load_settings(environ={"CASEMGMT_INSTANCE_PATH": str(tmp_path / "a")})
    b = load_settings(environ={"CASEMGMT_INSTANCE_PATH": str(tmp_path / "b")})
    assert a.secret_key != b.secret_key
    assert a.root_keys[1] != b.root_keys[1]


def test_five_languages_are_offered_by_default(tmp_path):
    assert load_settings(environ=prod(tmp_path)).languages == ("en", "es", "fr", "pt", "ht")
    assert load_settings(environ=prod(tmp_path, LANGUAGES="es, en")).languages == ("es", "en")


def test_a_language_without_a_catalog_is_refused_rather_than_shown_in_english(tmp_path):
    _refused(prod(tmp_path, LANGUAGES="en,es,de"), "CASEMGMT_LANGUAGES", "de")
