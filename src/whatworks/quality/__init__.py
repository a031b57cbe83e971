"""whatworks.quality: the data-quality profile — what an analyst should know about the data before trusting any
count (completeness gaps, code changes, quarantined and duplicate rows, late records, months missing).

>>> import whatworks as ww
>>> prof = ww.quality.profile(store.quality_counts())      # doctest: +SKIP
>>> print(prof.summary())                                   # doctest: +SKIP

The store counts (``Store.quality_counts``); this room makes the statistics (docs/records-mapping.md).
"""

from whatworks.quality.profiling import QualityProfile, profile

__all__ = ["profile", "QualityProfile"]
