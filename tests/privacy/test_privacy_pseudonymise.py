"""whatworks.privacy.pseudonymise: HMAC-SHA256 against the RFC 4231 test vectors, shapes, missing values, keys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.privacy import new_key, pseudonymise, pseudonymise_columns


def test_rfc4231_vectors():
    # RFC 4231 test case 1: key = 0x0b * 20, data = "Hi There"
    assert pseudonymise("Hi There", b"\x0b" * 20, length=64) == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    # test case 6: key = 0xaa * 131 (longer than the block size)
    assert pseudonymise("Test Using Larger Than Block-Size Key - Hash Key First", b"\xaa" * 131, length=64) == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_shapes_missing_values_and_consistency():
    key = "0123456789abcdef-test"
    s = pd.Series(["R1", None, "R1", 7], index=[10, 11, 12, 13], name="id")
    out = pseudonymise(s, key)
    assert out.index.tolist() == [10, 11, 12, 13] and out.name == "id"
    assert out[11] is None and out[10] == out[12] and len(out[10]) == 16
    assert out[13] == pseudonymise("7", key)       # text form: 7 and "7" are the same id
    arr = pseudonymise(np.array([["a", "b"], ["a", None]], dtype=object), key, prefix="p_")
    assert arr.shape == (2, 2) and arr[0, 0] == arr[1, 0] and arr[0, 0].startswith("p_") and arr[1, 1] is None
    assert pseudonymise(["a"], key) == [pseudonymise("a", key)]
    assert pseudonymise("a", key) != pseudonymise("a", key + "x")
    assert pseudonymise(float("nan"), key) is None


def test_key_rules():
    with pytest.raises(WhatworksError, match="too short"):
        pseudonymise("a", "short")
    with pytest.raises(WhatworksError, match="string or bytes"):
        pseudonymise("a", 12345678901234567890)
    with pytest.raises(WhatworksError, match="length"):
        pseudonymise("a", new_key(), length=4)
    k = new_key()
    assert len(k) == 64 and k != new_key()


def test_pseudonymise_columns():
    df = pd.DataFrame({"person_id": ["a", "b"], "n": [1, 2]})
    out = pseudonymise_columns(df, ["person_id"], new_key())
    assert out["n"].tolist() == [1, 2] and not out["person_id"].isin(["a", "b"]).any()
    assert df["person_id"].tolist() == ["a", "b"]
    with pytest.raises(WhatworksError, match="not found"):
        pseudonymise_columns(df, ["name"], new_key())


def test_package_exposes_privacy():
    assert ww.privacy.pseudonymise is pseudonymise
