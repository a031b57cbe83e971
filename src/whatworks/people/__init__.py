"""whatworks.people: repeat and vulnerable victims, prolific and harmful offenders, stop-and-search fairness, and
record linkage of people across systems (docs/people.md).

Every function takes a DataFrame with explicit column names and returns a Result (``.table``, ``.summary()``,
``.plot()``). Functions whose table holds person ids take ``key=`` and then pseudonymise them (HMAC-SHA256; the key is
held by the caller and never stored).
"""

from whatworks.people.histories import HistoriesResult, histories
from whatworks.people.linkage import LinkResult, link, pairwise_metrics
from whatworks.people.offenders import OffendersResult, offenders
from whatworks.people.repeats import FlagRule, RepeatsResult, repeats
from whatworks.people.stopsearch import StopSearchResult, rate_ratio_ci, stop_search

__all__ = ["repeats", "RepeatsResult", "FlagRule", "offenders", "OffendersResult", "stop_search", "StopSearchResult",
           "rate_ratio_ci", "link", "LinkResult", "pairwise_metrics", "histories", "HistoriesResult"]
