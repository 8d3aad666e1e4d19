"""Encryption at rest for secrets: MultiFernet over FLOWKER_ENCRYPTION_KEY (first encrypts,
all decrypt), so keys can be rotated with `manage.py rotate_encryption_key`."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FLOWKER_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key can decrypt `token`."""
    return _current().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt `token` with the first key."""
    return _current().rotate(token.encode("ascii")).decode("ascii")
