"""police.uk's vocabulary: the crime types of its street-level data (REFERENCE.md, "police.uk formats").

One module of rules that the police.uk reader, the RMS mapping and the failed-file repair all read, so none of them
imports another for a constant (the repair's hints and the reader once imported each other, issue 17 item 3).
"""

from __future__ import annotations

CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
)

__all__ = ["CRIME_TYPES"]
