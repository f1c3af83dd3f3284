"""Backups of the database and the document store together, and their restore (docs/operations.md).

- keys.py: the backup key (never the root key ring, which is backed up separately);
- stream.py: the encryption layer, chunked AES-256-GCM in the STREAM construction (truncation and reordering fail);
- archive.py: the archive inside it, a tar stream of the database snapshot, the document files and manifest.json;
- snapshot.py: a consistent database snapshot (SQLite's online backup API, pg_dump) and putting one back;
- erasures.py: the erasure journal outside the database, which a restore of an older backup re-applies;
- create.py / restore.py: the two commands' work; checks.py: what a restore verifies; cli.py: the commands.
"""
