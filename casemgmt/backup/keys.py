"""The backup key: 32 random bytes that encrypt archives, and nothing else.

It is not the root key ring, on purpose: the archives travel (to another disk, host or provider) and the key ring
must not travel with them; whoever holds an archive and its backup key still cannot read a single encrypted field
without the root keys, which are backed up apart (docs/operations.md). In production it comes from
CASEMGMT_BACKUP_KEY or CASEMGMT_BACKUP_KEY_FILE; in development and for the demo it is generated into the instance
folder (0600) at the first backup, like the key ring.
"""

from __future__ import annotations

import base64
import os
import secrets

from flask import current_app

from casemgmt.settings import BACKUP_KEY_BYTES, PREFIX, SettingsError, backup_key_path, parse_backup_key


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(BACKUP_KEY_BYTES)).decode()


def backup_key(create: bool = False) -> bytes:
    """The configured backup key; in development (and testing) one is made in the instance folder when `create`
    is set (by `casemgmt backup`, never by a restore: restoring with a new key could only fail)."""
    settings = current_app.config["SETTINGS"]
    key = _configured(settings, create)
    if key in settings.root_keys.values():
        raise SettingsError("the backup key must not be one of the root keys: the archives travel, the key ring "
                            "must not travel with them")
    return key


def _configured(settings, create: bool) -> bytes:
    if settings.backup_key is not None:
        return settings.backup_key
    path = backup_key_path(settings.instance_path)
    if path.exists():  # made after the settings were read (an earlier backup in this process)
        return parse_backup_key(path.read_text(), str(path))
    if create and not settings.is_production:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_text() + "\n")
        return parse_backup_key(path.read_text(), str(path))
    raise SettingsError(
        f"no backup key: set {PREFIX}BACKUP_KEY or {PREFIX}BACKUP_KEY_FILE (generate one with "
        "`casemgmt backup keygen`); keep a copy apart from the archives"
    )
