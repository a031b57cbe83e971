"""whatworks.privacy: keyed pseudonymisation of identifiers (HMAC-SHA256; the key is held by the user, never stored)."""

from whatworks.privacy.pseudonymise import DEFAULT_LENGTH, MIN_KEY_BYTES, new_key, pseudonymise, pseudonymise_columns

__all__ = ["pseudonymise", "pseudonymise_columns", "new_key", "MIN_KEY_BYTES", "DEFAULT_LENGTH"]
