"""The former name of :mod:`whatworks.report.data`: the same module object under its old private name, kept because
``pack.py`` and ``landscape.py`` still import it. New code imports :mod:`whatworks.report.data`."""

import sys

from whatworks.report import data

sys.modules[__name__] = data
