"""Typed settings, read once from the environment and the instance folder, checked at start-up.

Nothing here is read at import time: `load_settings()` is called by `create_app()`. In development the secret key
and the root key ring are generated into the instance folder on first run (mode 0600); in production the app refuses
to start without them, because a made-up fallback secret is the classic way such systems leak.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "CASEMGMT_"
ENVIRONMENTS = ("development", "testing", "production")
MIN_SECRET_KEY_BYTES = 32
ROOT_KEY_BYTES = 32


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message tells the operator what to fix."""


MAIL_SECURITY = ("starttls", "ssl", "none")
# The interface languages that have a complete catalog in casemgmt/translations (English is the source).
SUPPORTED_LANGUAGES = ("en", "es", "fr", "pt", "ht")


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server that e-mails notices (casemgmt/notifications/mail.py); no host: no e-mail at all.

    The password comes from the environment only and is kept out of repr(), so printing the settings (a debugger,
    an error report) never shows it. Nothing here is logged."""

    host: str | None = None
    port: int = 587
    sender: str | None = None  # the From: address
    security: str = "starttls"  # starttls (upgrade a plain connection), ssl (TLS from the start), none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: int = 10
    # Extra certificate authorities to trust (a PEM file), for a relay with a private CA; None: the system's.
    ca_file: Path | None = None
    # One digest per user per this many minutes at most: a busy morning is one e-mail, not twenty.
    digest_minutes: int = 15

    @property
    def enabled(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    database_url: str
    secret_key: str
    # KEK version -> 32 bytes of root key material. The highest version wraps new data keys.
    root_keys: Mapping[int, bytes]
    require_2fa: bool
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_failure_window_seconds: int = 60
    login_lock_minutes: int = 15
    # How long an enrolment or reset link stays usable (the person it is handed to may need a weekend).
    enrolment_link_hours: int = 72
    # Sizes the blind indexes (crypto.blind_index.index_bits). It may change: `casemgmt indexes rebuild` then builds
    # indexes of the new size while search goes on using the old ones.
    expected_cases: int = 100_000
    page_size: int = 25
    # Identity-document scans and signed forms; the request cap is this plus room for the multipart envelope.
    document_max_bytes: int = 10 * 1024 * 1024
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    # Argon2id cost. The defaults follow OWASP's 2023 guidance (m=19 MiB, t=2, p=1); tests lower them.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456
    # Per-client rate limits (casemgmt/ratelimits.py): where the counts live (Redis in production, shared by every
    # worker; memory:// only in development), the prefix of their keys, and the number of reverse proxies in front of
    # the application whose X-Forwarded-For is trusted to give the client's address (0: use the connection's).
    ratelimit_enabled: bool = True
    ratelimit_storage_uri: str = "memory://"
    ratelimit_key_prefix: str = "casemgmt"
    trusted_proxies: int = 0
    # Disclosure control for anything that leaves the organisation: a de-identified record is indistinguishable from
    # at least k-1 others, and a published count below k is suppressed. CTDC publishes with k = 11.
    disclosure_k: int = 11
    # The de-identified export generalises until at most this share of records must be suppressed (percent).
    deidentified_max_suppression_percent: int = 5
    # Signed checkpoints of the audit chain's head, written where the database cannot rewrite them (see
    # casemgmt/audit/anchor.py): an append-only file (None: off) and syslog (None: off; a unix socket path, or a
    # (host, port) reached over UDP). A checkpoint is written once the head has moved and the last one is older than
    # `audit_checkpoint_seconds` or `audit_checkpoint_events` events.
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_syslog: str | tuple[str, int] | None = None
    audit_checkpoint_seconds: int = 60
    audit_checkpoint_events: int = 1000
    # Backups (casemgmt/backup): the key that encrypts archives (32 bytes, never one of the root keys; None: made in
    # the instance folder by the first `casemgmt backup` outside production), and the append-only journal of
    # erasures outside the database that a restore of an older backup re-applies (None: off, the testing default).
    backup_key: bytes | None = None
    erasure_journal_file: Path | None = None
    # Free space (MB) kept on the instance's storage for logins, sessions, audit events and small edits: document
    # uploads that would leave less are refused (casemgmt/diskspace.py), and the readiness check reports it.
    storage_reserve_mb: int = 200
    # E-mailed notices (off without an SMTP host), and the address of the site their link points to.
    mail: MailSettings = field(default_factory=MailSettings)
    public_url: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def current_kek_version(self) -> int:
        return max(self.root_keys)


def _env_bool(value: str | None, default: bool, name: str) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, not {value!r}")


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}")
    return value


def parse_key_ring(text: str, source: str) -> dict[int, bytes]:
    """Parse `version:base64key` entries separated by commas or new lines."""
    ring: dict[int, bytes] = {}
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        version_text, sep, key_text = entry.partition(":")
        if not sep or not version_text.strip().isdigit():
            raise SettingsError(f"{source}: each key must be written as VERSION:BASE64KEY")
        try:
            key = base64.b64decode(key_text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError(f"{source}: key version {version_text.strip()} is not valid base64") from None
        if len(key) != ROOT_KEY_BYTES:
            raise SettingsError(
                f"{source}: key version {version_text.strip()} must be {ROOT_KEY_BYTES} random bytes, "
                f"got {len(key)}"
            )
        if len(set(key)) < 8:
            raise SettingsError(f"{source}: key version {version_text.strip()} is not random enough")
        if int(version_text) in ring:
            # Silently keeping one of the two would make whatever the other one encrypted unreadable.
            raise SettingsError(f"{source}: key version {int(version_text)} is given more than once")
        ring[int(version_text)] = key
    return ring


def format_key_ring(ring: Mapping[int, bytes]) -> str:
    return "".join(f"{v}:{base64.b64encode(k).decode()}\n" for v, k in sorted(ring.items()))


def new_root_key() -> bytes:
    return secrets.token_bytes(ROOT_KEY_BYTES)


def _write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner only, without a window where it is world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def key_ring_path(instance_path: Path) -> Path:
    return instance_path / "keyring"


def append_root_key(instance_path: Path) -> int:
    """Add a new KEK version to the instance key ring file and return its number."""
    path = key_ring_path(instance_path)
    ring = parse_key_ring(path.read_text(), str(path)) if path.exists() else {}
    version = max(ring, default=0) + 1
    ring[version] = new_root_key()
    tmp = path.with_suffix(".new")
    if tmp.exists():
        tmp.unlink()
    _write_private(tmp, format_key_ring(ring))
    os.replace(tmp, path)
    return version


def _secret_key(environ: Mapping[str, str], instance_path: Path, env: str) -> str:
    value = environ.get(PREFIX + "SECRET_KEY", "")
    path = instance_path / "secret_key"
    if not value and path.exists():
        value = path.read_text().strip()
    if not value and env != "production":
        value = secrets.token_urlsafe(48)
        _write_private(path, value + "\n")
    if not value:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is not set. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and set it in the environment."
        )
    if len(value) < MIN_SECRET_KEY_BYTES or len(set(value)) < 10:
        raise SettingsError(f"{PREFIX}SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_BYTES} random characters")
    return value


def _root_keys(environ: Mapping[str, str], instance_path: Path, env: str) -> dict[int, bytes]:
    text = environ.get(PREFIX + "ROOT_KEYS", "")
    source = PREFIX + "ROOT_KEYS"
    key_file = environ.get(PREFIX + "ROOT_KEYS_FILE", "")
    default_file = key_ring_path(instance_path)
    if not text and key_file:
        try:
            text, source = Path(key_file).read_text(), key_file
        except OSError as exc:
            raise SettingsError(f"{PREFIX}ROOT_KEYS_FILE {key_file} cannot be read: {exc.strerror}") from None
    if not text and default_file.exists():
        text, source = default_file.read_text(), str(default_file)
    if not text and env != "production":
        append_root_key(instance_path)
        text, source = default_file.read_text(), str(default_file)
    if not text:
        raise SettingsError(
            f"No encryption key material: set {PREFIX}ROOT_KEYS (e.g. '1:<32 random bytes in base64>') or "
            f"{PREFIX}ROOT_KEYS_FILE. Generate a key with `casemgmt keys generate`."
        )
    ring = parse_key_ring(text, source)
    if not ring:
        raise SettingsError(f"{source} holds no keys")
    return ring


def _checkpoint_file(environ: Mapping[str, str], instance_path: Path, env: str) -> Path | None:
    raw = environ.get(PREFIX + "AUDIT_CHECKPOINT_FILE", "").strip()
    if raw.lower() == "off":
        return None
    if raw:
        path = Path(raw)
        if not path.is_absolute():
            raise SettingsError(f"{PREFIX}AUDIT_CHECKPOINT_FILE must be an absolute path, not {raw!r}")
        return path
    # Tests share one instance folder across databases that are wiped after each test: they opt in per test.
    return None if env == "testing" else instance_path / "audit-checkpoints.log"


def _checkpoint_syslog(environ: Mapping[str, str]) -> str | tuple[str, int] | None:
    """off | local (the /dev/log socket, which journald also serves) | /path/to/socket | host[:port] (UDP)."""
    raw = environ.get(PREFIX + "AUDIT_CHECKPOINT_SYSLOG", "").strip()
    if raw == "" or raw.lower() == "off":
        return None
    if raw.lower() == "local":
        return "/dev/log"
    if raw.startswith("/"):
        return raw
    host, _, port = raw.rpartition(":") if ":" in raw else (raw, "", "514")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"{PREFIX}AUDIT_CHECKPOINT_SYSLOG must be off, local, a socket path or host:port, not {raw!r}"
        )
    return host.strip("[]"), int(port)  # [::1]:514


BACKUP_KEY_BYTES = 32


def backup_key_path(instance_path: Path) -> Path:
    return instance_path / "backup_key"


def parse_backup_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{source}: the backup key is not valid base64") from None
    if len(key) != BACKUP_KEY_BYTES or len(set(key)) < 8:
        raise SettingsError(f"{source}: the backup key must be {BACKUP_KEY_BYTES} random bytes in base64 "
                            "(`casemgmt backup keygen` prints one)")
    return key


def _backup_key(environ: Mapping[str, str], instance_path: Path) -> bytes | None:
    """CASEMGMT_BACKUP_KEY, else the file CASEMGMT_BACKUP_KEY_FILE, else the instance folder's backup_key (written
    by the first backup outside production, casemgmt/backup/keys.py), else None: the application itself never needs
    it, so only `casemgmt backup` and `restore` refuse to run without one."""
    text, source = environ.get(PREFIX + "BACKUP_KEY", "").strip(), PREFIX + "BACKUP_KEY"
    key_file = environ.get(PREFIX + "BACKUP_KEY_FILE", "").strip()
    if not text and key_file:
        try:
            text, source = Path(key_file).read_text(), key_file
        except OSError as exc:
            raise SettingsError(f"{PREFIX}BACKUP_KEY_FILE {key_file} cannot be read: {exc.strerror}") from None
    default_file = backup_key_path(instance_path)
    if not text and default_file.exists():
        text, source = default_file.read_text(), str(default_file)
    return parse_backup_key(text, source) if text else None


def _erasure_journal_file(environ: Mapping[str, str], instance_path: Path, env: str) -> Path | None:
    raw = environ.get(PREFIX + "ERASURE_JOURNAL_FILE", "").strip()
    if raw.lower() == "off":
        if env == "production":
            # Without it, restoring a backup older than an erasure would make the erased person readable again.
            raise SettingsError(f"{PREFIX}ERASURE_JOURNAL_FILE cannot be off in production")
        return None
    if raw:
        path = Path(raw)
        if not path.is_absolute():
            raise SettingsError(f"{PREFIX}ERASURE_JOURNAL_FILE must be an absolute path, not {raw!r}")
        return path
    # Tests share one instance folder across databases that are wiped after each test: they opt in per test.
    return None if env == "testing" else instance_path / "erasure-journal.log"


def _public_url(environ: Mapping[str, str], env: str) -> str | None:
    raw = environ.get(PREFIX + "PUBLIC_URL", "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{PREFIX}PUBLIC_URL must be the site's address, e.g. https://casemgmt.example.org")
    if env == "production" and parts.scheme != "https":
        raise SettingsError(f"{PREFIX}PUBLIC_URL must start with https:// in production")
    return raw


def _mail(environ: Mapping[str, str], env: str, public_url: str | None) -> MailSettings:
    host = environ.get(PREFIX + "SMTP_HOST", "").strip() or None
    if host is None:
        return MailSettings()
    security = environ.get(PREFIX + "SMTP_SECURITY", "").strip().lower() or "starttls"
    if security not in MAIL_SECURITY:
        raise SettingsError(f"{PREFIX}SMTP_SECURITY must be one of {', '.join(MAIL_SECURITY)}, not {security!r}")
    port = _env_int(environ, "SMTP_PORT", 465 if security == "ssl" else 587)
    if port > 65535:
        raise SettingsError(f"{PREFIX}SMTP_PORT must be a port number (1-65535)")
    sender = environ.get(PREFIX + "SMTP_FROM", "").strip()
    if "@" not in sender or any(ch in sender for ch in "\r\n"):
        raise SettingsError(f"{PREFIX}SMTP_FROM must be the address notices are sent from, e.g. "
                            "casemgmt@example.org")
    username = environ.get(PREFIX + "SMTP_USER", "").strip() or None
    password = environ.get(PREFIX + "SMTP_PASSWORD", "") or None
    if (username is None) != (password is None):
        raise SettingsError(f"Set both {PREFIX}SMTP_USER and {PREFIX}SMTP_PASSWORD, or neither")
    if password is not None and security == "none" and env == "production":
        # The password would cross the network in clear.
        raise SettingsError(f"{PREFIX}SMTP_PASSWORD needs {PREFIX}SMTP_SECURITY starttls or ssl in production")
    if public_url is None:
        raise SettingsError(f"{PREFIX}SMTP_HOST is set, so notices are e-mailed: set {PREFIX}PUBLIC_URL to the "
                            "site's address (https://...) for the link they carry")
    ca_raw = environ.get(PREFIX + "SMTP_CA_FILE", "").strip()
    ca_file = Path(ca_raw) if ca_raw else None
    if ca_file is not None and not ca_file.is_file():
        raise SettingsError(f"{PREFIX}SMTP_CA_FILE {ca_raw} is not a readable file")
    return MailSettings(
        host=host, port=port, sender=sender, security=security, username=username, password=password,
        timeout_seconds=_env_int(environ, "SMTP_TIMEOUT_SECONDS", 10), ca_file=ca_file,
        digest_minutes=_env_int(environ, "MAIL_DIGEST_MINUTES", 15, minimum=0),
    )


RATELIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")


def _ratelimit_storage(environ: Mapping[str, str], env: str, enabled: bool) -> str:
    uri = environ.get(PREFIX + "RATELIMIT_STORAGE_URI", "").strip()
    if not uri:
        if env == "production" and enabled:
            raise SettingsError(
                f"Production needs a shared store for rate limits: set {PREFIX}RATELIMIT_STORAGE_URI, e.g. "
                "redis://127.0.0.1:6379/0"
            )
        uri = "memory://"
    scheme = uri.partition("://")[0]
    if scheme not in RATELIMIT_SCHEMES:
        raise SettingsError(f"{PREFIX}RATELIMIT_STORAGE_URI must start with one of "
                            f"{', '.join(s + '://' for s in RATELIMIT_SCHEMES)}")
    # Each worker process would count on its own, so N workers would allow N times every limit, and a restart would
    # forget them all.
    if env == "production" and enabled and scheme == "memory" and not _env_bool(
        environ.get(PREFIX + "ALLOW_MEMORY_RATELIMIT_IN_PRODUCTION"), False, "ALLOW_MEMORY_RATELIMIT_IN_PRODUCTION"
    ):
        raise SettingsError(
            f"Production needs Redis for rate limits, not memory://: set {PREFIX}RATELIMIT_STORAGE_URI, e.g. "
            "redis://127.0.0.1:6379/0"
        )
    return uri


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    for name, value in (overrides or {}).items():
        environ[PREFIX + name] = str(value)
    env = environ.get(PREFIX + "ENV", "development")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    instance_path = Path(environ.get(PREFIX + "INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    database_url = environ.get(PREFIX + "DATABASE_URL") or f"sqlite:///{instance_path / 'casemgmt.db'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we test; the bare scheme would pick psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if env == "production" and database_url.startswith("sqlite") and not _env_bool(
        environ.get(PREFIX + "ALLOW_SQLITE_IN_PRODUCTION"), False, "ALLOW_SQLITE_IN_PRODUCTION"
    ):
        raise SettingsError(f"Production needs PostgreSQL: set {PREFIX}DATABASE_URL")
    languages = tuple(x.strip() for x in environ.get(PREFIX + "LANGUAGES", ",".join(Settings.languages)).split(",")
                      if x.strip())
    # A language with no catalog would show English while claiming another language: refuse it at start.
    unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if unknown:
        raise SettingsError(f"{PREFIX}LANGUAGES: no catalog for {', '.join(unknown)}; "
                            f"choose among {', '.join(SUPPORTED_LANGUAGES)}")
    ratelimit_enabled = _env_bool(environ.get(PREFIX + "RATELIMIT_ENABLED"), True, "RATELIMIT_ENABLED")
    public_url = _public_url(environ, env)
    return Settings(
        env=env,
        instance_path=instance_path,
        database_url=database_url,
        secret_key=_secret_key(environ, instance_path, env),
        root_keys=_root_keys(environ, instance_path, env),
        require_2fa=_env_bool(environ.get(PREFIX + "REQUIRE_2FA"), env == "production", "REQUIRE_2FA"),
        session_idle_minutes=_env_int(environ, "SESSION_IDLE_MINUTES", 30),
        session_absolute_hours=_env_int(environ, "SESSION_ABSOLUTE_HOURS", 12),
        login_max_failures=_env_int(environ, "LOGIN_MAX_FAILURES", 5),
        login_failure_window_seconds=_env_int(environ, "LOGIN_FAILURE_WINDOW_SECONDS", 60),
        login_lock_minutes=_env_int(environ, "LOGIN_LOCK_MINUTES", 15),
        enrolment_link_hours=_env_int(environ, "ENROLMENT_LINK_HOURS", 72),
        # Below 512 rows the 8-bit minimum index would give fewer than two coincidences per value.
        expected_cases=_env_int(environ, "EXPECTED_CASES", 100_000, minimum=512),
        page_size=_env_int(environ, "PAGE_SIZE", 25),
        document_max_bytes=_env_int(environ, "DOCUMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
        languages=languages or ("en",),
        argon2_time_cost=_env_int(environ, "ARGON2_TIME_COST", 2),
        argon2_memory_kib=_env_int(environ, "ARGON2_MEMORY_KIB", 19_456, minimum=8),
        ratelimit_enabled=ratelimit_enabled,
        ratelimit_storage_uri=_ratelimit_storage(environ, env, ratelimit_enabled),
        ratelimit_key_prefix=environ.get(PREFIX + "RATELIMIT_KEY_PREFIX", "").strip() or "casemgmt",
        trusted_proxies=_env_int(environ, "TRUSTED_PROXIES", 0, minimum=0),
        disclosure_k=_env_int(environ, "DISCLOSURE_K", 11, minimum=2),
        deidentified_max_suppression_percent=min(
            100, _env_int(environ, "DEIDENTIFIED_MAX_SUPPRESSION_PERCENT", 5, minimum=0)
        ),
        audit_checkpoint_file=_checkpoint_file(environ, instance_path, env),
        audit_checkpoint_syslog=_checkpoint_syslog(environ),
        audit_checkpoint_seconds=_env_int(environ, "AUDIT_CHECKPOINT_SECONDS", 60, minimum=0),
        audit_checkpoint_events=_env_int(environ, "AUDIT_CHECKPOINT_EVENTS", 1000),
        backup_key=_backup_key(environ, instance_path),
        erasure_journal_file=_erasure_journal_file(environ, instance_path, env),
        storage_reserve_mb=_env_int(environ, "STORAGE_RESERVE_MB", 200, minimum=0),
        mail=_mail(environ, env, public_url),
        public_url=public_url,
    )
