"""The former name of :mod:`whatworks.report.sections`: the same module object under its old private name, kept
because ``pack.py``, ``landscape.py`` and ``tests/report/test_report_sections.py`` still import it. New code imports
:mod:`whatworks.report.sections`."""

import sys

from whatworks.report import sections

sys.modules[__name__] = sections
