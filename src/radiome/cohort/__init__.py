"""Cohorts at scale: manifests, DICOM discovery, Dask batches, the feature store, conformance."""

from __future__ import annotations

from radiome.cohort.conformance import Conformance, check_conformance
from radiome.cohort.discover import Discovery, discover
from radiome.cohort.manifest import ManifestError, read_manifest
from radiome.cohort.privacy import load_key, pseudonym
from radiome.cohort.runner import (
    BatchSummary,
    input_hash,
    run_batch,
    run_case,
)
from radiome.cohort.store import (
    PROVENANCE_COLUMNS,
    CaseRecord,
    CaseWarning,
    FeatureStore,
    StoreError,
)

__all__ = [
    "PROVENANCE_COLUMNS",
    "BatchSummary",
    "CaseRecord",
    "CaseWarning",
    "Conformance",
    "Discovery",
    "FeatureStore",
    "ManifestError",
    "StoreError",
    "check_conformance",
    "discover",
    "input_hash",
    "load_key",
    "pseudonym",
    "read_manifest",
    "run_batch",
    "run_case",
]
