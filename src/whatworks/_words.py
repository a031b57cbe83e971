"""Yes/no words, defined once (issue 17, "no duplicates"): what a flag column may say for true and for false.

Police systems spell a flag many ways ("True", "Y", "yes", 1, 1.0). Every room reads them with these words: the
people analyses (:func:`truthy`) and the store's mapped boolean columns (``TRUE_WORDS``/``FALSE_WORDS``).
Matching ignores case and surrounding spaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "truthy"]
TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")


def truthy(s: pd.Series) -> np.ndarray:
    """True where ``s`` is a true flag: a boolean True, or text/number in :data:`TRUE_WORDS` (case and spaces
    ignored). Anything else — false words, missing values, other text — is False.

    >>> truthy(pd.Series([True, "Yes ", "n", 1, 0.0, None, "found"])).tolist()
    [True, True, False, True, False, False, False]
    """
    if s.dtype == bool:
        return s.to_numpy()
    txt = s.astype("string").str.strip().str.lower()
    return txt.isin(TRUE_WORDS).fillna(False).to_numpy(bool)
