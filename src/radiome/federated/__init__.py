"""Federated radiomics on Flower: sites keep their rows, the server sees only sums.

The mathematics (:mod:`~radiome.federated.sums`, :mod:`~radiome.federated.protocol`) is plain
NumPy, exact and testable in one process; :mod:`~radiome.federated.app` carries it over Flower
(ServerApp + ClientApp, secure aggregation by SecAgg+) and :mod:`~radiome.federated.run` starts a
SuperLink and one SuperNode per site on this machine. Importing this package does not import
Flower.
"""

from __future__ import annotations

from radiome.federated.demo import multisite_tables
from radiome.federated.protocol import SiteData, Study, answer, load_site, run_in_process

__all__ = ["SiteData", "Study", "answer", "load_site", "multisite_tables", "run_in_process"]
