"""whatworks.place: where crime happens.

grid (counts per cell) · kde (kernel density) · gistar (Getis–Ord Gi* hot spots) · classify (hot spots over time) ·
concentration (Lorenz curve, Gini) · knox (near-repeat test) · accuracy (hit rate, PAI, PEI, RRI).
"""

from whatworks.place._study_area import StudyArea
from whatworks.place.accuracy import AccuracyResult, accuracy
from whatworks.place.classify import ClassifyResult, classify
from whatworks.place.concentration import ConcentrationResult, concentration
from whatworks.place.gistar import GiStarResult, gistar
from whatworks.place.grid import GridResult, grid
from whatworks.place.kde import KDEResult, kde
from whatworks.place.knox import KnoxResult, knox

__all__ = ["grid", "GridResult", "kde", "KDEResult", "gistar", "GiStarResult", "classify", "ClassifyResult",
           "concentration", "ConcentrationResult", "knox", "KnoxResult", "accuracy", "AccuracyResult", "StudyArea"]
