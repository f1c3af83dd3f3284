"""Field-level encryption: envelope keys per case, AES-256-GCM values bound to their place, blind indexes.

See shared/SECURITY.md and the README's "Encryption" section for the design.
"""

from casemgmt.crypto.fields import DecryptionError, EncryptedBytes, Sealed, seal, unseal

__all__ = ["DecryptionError", "EncryptedBytes", "Sealed", "seal", "unseal"]
