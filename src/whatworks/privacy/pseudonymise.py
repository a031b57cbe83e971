"""Keyed pseudonymisation of person identifiers (HMAC-SHA256, key held by the user).

A pseudonym is ``HMAC-SHA256(key, identifier)`` written in hex and cut to ``length`` characters. The same key
gives the same pseudonym for the same identifier, so pseudonymised outputs can still be joined with one another;
without the key nobody can go back from a pseudonym to the identifier, nor test a guessed identifier (an
unkeyed hash of a date of birth or a crime reference can be reversed by trying every possible value).

whatworks never stores the key: it is not written to the store, not kept in results' ``.settings`` and not
printed. Raw identifiers stay in the store; outputs that leave it carry pseudonyms when a key is given.

References
----------
Information Commissioner's Office (2022). *Pseudonymisation* (draft anonymisation guidance, chapter 3):
keyed hashing with a secret key held apart from the data. RFC 2104 (HMAC); FIPS 180-4 (SHA-256).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Iterable

import numpy as np
import pandas as pd

from whatworks.errors import error

__all__ = ["pseudonymise", "pseudonymise_columns", "new_key", "key_bytes", "MIN_KEY_BYTES", "DEFAULT_LENGTH"]

MIN_KEY_BYTES = 16      # 128 bits: shorter keys could be guessed
DEFAULT_LENGTH = 16     # 16 hex characters = 64 bits; two of a million ids collide with probability ~3e-8


def new_key() -> str:
    """A fresh random key (64 hex characters = 256 bits) for :func:`pseudonymise`. Keep it apart from the data."""
    return secrets.token_hex(32)


def key_bytes(where: str, key: Any) -> bytes:
    """The key as bytes, checked: text (UTF-8) or bytes of at least :data:`MIN_KEY_BYTES` bytes, else a
    :class:`~whatworks.errors.WhatworksError` reported under ``where`` (the function the user called)."""
    if isinstance(key, str):
        raw = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
    else:
        raise error(where, "The 'key' parameter must be a string or bytes.", got=type(key).__name__,
                    hint="Make one with whatworks.privacy.new_key() and keep it apart from the data.")
    if len(raw) < MIN_KEY_BYTES:
        raise error(where, f"The 'key' parameter is too short to be secret: it must be at least {MIN_KEY_BYTES} bytes.",
                    got=f"{len(raw)} bytes", hint="Make one with whatworks.privacy.new_key().")
    return raw


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def pseudonymise(values: Iterable[Any] | Any, key: str | bytes, *, length: int = DEFAULT_LENGTH,
                 prefix: str = "") -> Any:
    """Replace identifiers by keyed pseudonyms: ``prefix + hex(HMAC-SHA256(key, str(value)))[:length]``.

    Parameters
    ----------
    values : scalar, sequence, numpy array or pandas Series
        The identifiers. Each is turned into text with ``str()`` first, so ``123`` and ``"123"`` get the same
        pseudonym. Missing values (None, NaN, NA) stay missing.
    key : str or bytes
        The secret key, at least 16 bytes (:func:`new_key` makes one). Held by the user; never stored by whatworks.
    length : int, default 16
        Hex characters kept (8 to 64). 16 characters (64 bits) make collisions negligible for any force's data.
    prefix : str, default ""
        Text put in front of every pseudonym (e.g. ``"p_"``), so pseudonyms are not mistaken for raw ids.

    Returns
    -------
    str, list, numpy array or pandas Series
        The same shape as ``values`` (a Series keeps its index and name).

    Examples
    --------
    >>> p = pseudonymise(["R001", "R002", None, "R001"], "a key of at least sixteen bytes")
    >>> len(p[0]), p[0] == p[3], p[2]
    (16, True, None)
    """
    where = "pseudonymise"
    k = key_bytes(where, key)
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or not 8 <= length <= 64:
        raise error(where, "The 'length' parameter must be an integer from 8 to 64.", got=length)
    cache: dict[str, str] = {}

    def one(v: Any) -> Any:
        if _missing(v):
            return None
        text = str(v)
        out = cache.get(text)
        if out is None:
            out = prefix + hmac.new(k, text.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
            cache[text] = out
        return out

    if isinstance(values, pd.Series):
        return pd.Series([one(v) for v in values.tolist()], index=values.index, name=values.name, dtype=object)
    if isinstance(values, np.ndarray):
        return np.array([one(v) for v in values.ravel().tolist()], dtype=object).reshape(values.shape)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return one(values)
    return [one(v) for v in values]


def pseudonymise_columns(df: pd.DataFrame, columns: Iterable[str], key: str | bytes, *,
                         length: int = DEFAULT_LENGTH) -> pd.DataFrame:
    """A copy of ``df`` with each of ``columns`` pseudonymised by :func:`pseudonymise` (absent columns are an error)."""
    cols = list(columns)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise error("pseudonymise_columns", f"Column(s) {missing} not found.", expected=f"columns among {list(df.columns)}")
    out = df.copy()
    for c in cols:
        out[c] = pseudonymise(out[c], key, length=length)
    return out
