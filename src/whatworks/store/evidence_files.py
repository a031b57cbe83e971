"""Reading and writing evidence-register files (.csv and .json); only ``store/`` touches files (DESIGN.md).

CSV: one long table, a ``record`` column (intervention, evaluation, study, implementation) and the union of the
register's columns, written by :func:`whatworks.store.exports.write_table` (formula-like text gets a leading
apostrophe for spreadsheets, taken off again on import; a provenance file beside it). JSON: ``{"format":
"whatworks-register", "format_version": 1, "interventions": [...], ...}`` with exact floats, written by
:func:`whatworks.store.exports.write_text`. Both are byte-stable: export → import → export gives the same bytes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from whatworks.errors import error
from whatworks.store.exports import write_table, write_text

__all__ = ["read_register_file", "write_register_file"]


def read_register_file(path: str | os.PathLike):
    """Read a register file (.csv or .json) into a validated-on-save :class:`whatworks.evidence.Register`."""
    from whatworks.evidence.registry import Register

    p = Path(path)
    if not p.exists():
        raise error("import_register", f"The file {str(p)!r} does not exist.", hint="Give the path of a .csv or .json "
                    "register (as `whatworks evidence export` writes).")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return Register.from_json_text(p.read_text(encoding="utf-8"))
    if suffix == ".csv":
        text = p.read_text(encoding="utf-8-sig")
        long = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[])
        return Register.from_long(long, unneutralise=True)
    raise error("import_register", "A register file must be .csv or .json.", got=p.suffix)


def write_register_file(register, path: str | os.PathLike, *, overwrite: bool = False,
                        inputs: Iterable[str | os.PathLike] = (), provenance: Mapping | None = None) -> Path:
    """Write ``register`` to ``path`` (.csv or .json by extension); never over an input or a database."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return write_table(register.to_long(), p, provenance=provenance, overwrite=overwrite, inputs=inputs,
                           where="export_register")
    if suffix == ".json":
        return write_text(p, register.to_json_text(), overwrite=overwrite, inputs=inputs, where="export_register")
    raise error("export_register", "A register file must be .csv or .json.", got=p.suffix)
