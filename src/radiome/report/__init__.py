"""The study report: one self-contained HTML page from the feature store and the analyses.

- :func:`write_report` (also ``radiome.report(...)``, this package being callable, and
  ``radiome report --store URL --out report.html``): cohort, quality pictures, methods written
  from the spec (IBSI reporting items, versions, IBSI compliance), reliability,
  harmonisation, models, delta-radiomics and habitats, CLEAR and RQS checklists.
- :func:`collect_study`: the facts the page shows, as a dict.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

__all__ = ["collect_study", "write_report"]

_EXPORTS = {"collect_study": "radiome.report.build", "write_report": "radiome.report.build"}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)


class _CallableModule(types.ModuleType):
    """This package's module type: calling ``radiome.report(...)`` calls :func:`write_report`."""

    def __call__(self, *args, **kwargs):
        """Write the study report (see :func:`write_report`)."""
        from radiome.report.build import write_report

        return write_report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if TYPE_CHECKING:
    from radiome.report.build import collect_study, write_report
