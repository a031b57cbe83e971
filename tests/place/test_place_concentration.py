"""whatworks.place.concentration — published lorenzgini examples, hand-built rules, recovery of injected share."""

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import concentration
from whatworks.place.concentration import generalised_gini, gini, share_of_places


# REFERENCE: the examples in lorenzgini's gini() documentation (Steenbeek; values printed there) ---------------------
@pytest.mark.parametrize("counts,standard,generalised", [
    ([10, 8, 2] + [0] * 7, 0.78, 0.78),     # 20 crimes, 10 places: generalised = standard
    ([5, 2, 1] + [0] * 7, 0.80, 0.75),      # 8 crimes, 10 places
    ([10] + [0] * 9, 0.90, None),           # the documentation prints only the standard Gini for these two
    ([10] + [0] * 99, 0.99, None),
])
def test_lorenzgini_examples(counts, standard, generalised):
    assert gini(counts) == pytest.approx(standard, abs=1e-12)
    if generalised is not None:
        assert generalised_gini(counts) == pytest.approx(generalised, abs=1e-12)


def test_generalised_formula_when_crimes_are_sparse():
    # 10 crimes in one of 100 places: max(1, 100/10)·(0.99 − 1) + 1
    assert generalised_gini([10] + [0] * 99) == pytest.approx(0.9, abs=1e-12)


def test_gini_by_mean_absolute_difference():
    x = np.random.default_rng(0).poisson(2, 300).astype(float)
    mad = np.abs(x[:, None] - x[None]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(mad, rel=1e-12)


def test_generalised_gini_is_zero_at_maximal_equality():
    assert generalised_gini([1] * 30 + [0] * 70) == pytest.approx(0, abs=1e-12)
    assert gini([1] * 30 + [0] * 70) == pytest.approx(0.7)


def test_share_of_places():
    x = [50, 30, 10, 5, 5] + [0] * 95
    assert share_of_places(x, 0.5) == 0.01      # the busiest place alone holds 50%
    assert share_of_places(x, 0.25) == 0.01
    assert share_of_places(x, 0.81) == 0.03
    assert share_of_places([1, 1, 1, 1], 0.5) == 0.5


def test_result_and_lorenz_table():
    r = concentration(pd.DataFrame({"count": [5, 2, 1, 0, 0, 0, 0, 0, 0, 0]}))
    assert r.n_places == 10 and r.n_crimes == 8
    assert r.places_for_50 == 0.1 and r.places_for_25 == 0.1 and r.share_places_with_crime == 0.3
    assert r.table["share_of_crime"].iloc[-1] == pytest.approx(1)
    assert r.table["count"].tolist()[:3] == [5, 2, 1]
    assert "generalised Gini" in r.summary()


def test_bad_inputs():
    with pytest.raises(WhatworksError, match="non-negative"):
        concentration([1, -2, 3])
    with pytest.raises(WhatworksError, match="no missing values.*position 1"):
        concentration([1, None, 3])
    with pytest.raises(WhatworksError, match="every count is 0"):
        concentration([0, 0, 0])
    with pytest.raises(WhatworksError, match="finite numbers.*position 1"):   # review: gave Gini NaN, "inf crimes"
        concentration([3, np.inf, 1])


def test_recovers_injected_share():
    # 50% of crime injected at 4% of 5,000 segments; the rest spread by a Poisson draw over all segments
    rng = np.random.default_rng(9)
    n_seg, n_crime = 5000, 40000
    hot = rng.choice(n_seg, 200, replace=False)
    counts = np.bincount(rng.choice(hot, n_crime // 2), minlength=n_seg) + \
        np.bincount(rng.integers(0, n_seg, n_crime // 2), minlength=n_seg)
    r = concentration(counts)
    # hot segments each hold ~100 + 4 crimes, others ~4: the top 4% hold ~52%, so 50% needs just under 4%
    assert 0.035 <= r.places_for_50 <= 0.04


def test_plot():
    import matplotlib

    matplotlib.use("Agg")
    assert concentration([5, 2, 1] + [0] * 20).plot().axes
