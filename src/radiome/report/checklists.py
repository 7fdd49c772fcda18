"""CLEAR and RQS checklists of a study report: what radiome can evidence, and what it cannot.

An item is *evidenced* only by a fact the report shows (the section it links to); an item
radiome cannot know (clinical setting, registration, external validation, ...) is listed as
"to be completed by the authors" and never guessed. The RQS subtotal adds the points of the
evidenced items only, out of the maximum those items can give.

References: Kocak B, et al. CheckList for EvaluAtion of Radiomics research (CLEAR). Insights
Imaging 2023;14:75. Lambin P, et al. Radiomics: the bridge between medical imaging and
personalized medicine (RQS). Nat Rev Clin Oncol 2017;14:749-762.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AUTHORS", "Item", "clear_items", "rqs_items"]

AUTHORS = "to be completed by the authors"


@dataclass(frozen=True)
class Item:
    """One checklist item: its topic, what it asks, and the evidence or :data:`AUTHORS`.

    ``points``/``max_points`` are the RQS points given (None when not evidenced) and the most
    the item can give; CLEAR items leave them None.
    """

    topic: str
    asks: str
    evidence: str = AUTHORS
    link: str | None = None
    points: int | None = None
    max_points: int | None = None

    @property
    def evidenced(self) -> bool:
        """True when radiome filled the item from the study."""
        return self.evidence != AUTHORS


def _binary(study: dict) -> list[dict]:
    """The binary-outcome model evaluations of the study."""
    models = (study.get("models") or {}).get("models", [])
    return [m for m in models if m["task"] == "binary"]


def clear_items(study: dict) -> list[Item]:
    """CLEAR items (abridged wording, in checklist order) with radiome's evidence."""
    cohort, spec = study["cohort"], study["methods"]
    models = (study.get("models") or {}).get("models", [])
    ibsi = study["ibsi"]
    reliability = study.get("reliability")
    harmonisation = study.get("harmonisation")
    first = models[0]["data"] if models else {}
    binary = _binary(study)
    items = [
        Item("Study design", "Study design, clinical setting and aims"),
        Item("Data", "Eligibility criteria and flow of patients",
             f"{cohort['manifest_rows']} manifest rows, {cohort['n_cases']} cases stored, "
             f"{cohort['n_errors']} failed with their stage (inclusion flow diagram); the "
             "eligibility criteria themselves are the authors'", "#cohort"),
        Item("Data", "Sample size and number of centres, scanners and time points",
             f"{cohort['n_patients']} patients, {cohort['n_sites']} sites, "
             f"{cohort['n_scanners']} scanner models recorded, {cohort['n_timepoints']} time "
             "points", "#cohort"),
        Item("Data", "Image acquisition protocol and its conformance",
             f"acquisition conformance: {cohort['conformance']['pass']} pass, "
             f"{cohort['conformance']['warn']} warn, {cohort['conformance']['fail']} fail",
             "#conformance"),
        Item("Data", "Reference standard (ground truth) and its assessment"),
        Item("Segmentation", "Segmentation method, software and observers"),
        Item("Segmentation", "Robustness of features to segmentation variability",
             f"ICCs of {sum(s['n_features'] for s in reliability['studies'])} features, "
             "stable ones kept" if reliability else AUTHORS,
             "#reliability" if reliability else None),
        Item("Pre-processing", "Image pre-processing: interpolation, re-segmentation, "
             "normalisation, discretisation",
             "IBSI reporting items written from the stored spec", "#methods"),
        Item("Feature extraction", "Software, version and IBSI compliance",
             f"radiome {study['software'].get('radiome', '?')}; IBSI 1 digital phantom: "
             + (f"{ibsi['matched']}/{ibsi['total']} reference values matched"
                if ibsi.get("total") else ibsi["note"]), "#methods"),
        Item("Feature extraction", "Feature classes, filters and aggregation",
             f"{len(spec['items'])} IBSI reporting items, spec hash {spec['hash']}", "#methods"),
        Item("Data preparation", "Harmonisation of multi-centre data",
             f"ComBat over {harmonisation['n_sites']} sites; site effect (Kruskal–Wallis "
             f"p < 0.05) in {harmonisation['n_significant_before']} features before, "
             f"{harmonisation['n_significant_after']} after" if harmonisation else AUTHORS,
             "#harmonisation" if harmonisation else None),
        Item("Modelling", "Feature selection and dimensionality reduction inside "
             "cross-validation",
             f"default pipeline, selection within each training fold of "
             f"{first.get('n_repeats')} x {first.get('n_splits')}-fold nested CV"
             if models else AUTHORS, "#models" if models else None),
        Item("Modelling", "Handling of missing data and class imbalance",
             f"{first.get('n_missing_values')} missing values imputed inside the folds; "
             f"{len(first.get('dropped_features') or [])} features dropped as too often "
             "missing" if models else AUTHORS, "#models" if models else None),
        Item("Evaluation", "Discrimination with confidence intervals",
             f"{len(models)} model(s) with bootstrap 95 % CIs" if models else AUTHORS,
             "#models" if models else None),
        Item("Evaluation", "Calibration",
             "calibration slope and intercept with CIs, Brier score"
             if any("calibration_slope" in m["data"] for m in binary) else AUTHORS,
             "#models" if any("calibration_slope" in m["data"] for m in binary) else None),
        Item("Evaluation", "Clinical utility (decision curve analysis)",
             "decision curve (net benefit)"
             if any("net_benefit" in m["data"] for m in binary) else AUTHORS,
             "#models" if any("net_benefit" in m["data"] for m in binary) else None),
        Item("Evaluation", "Validation strategy: internal, external, independent test set",
             "internal: nested cross-validation (external validation: the authors')"
             if models else AUTHORS, "#models" if models else None),
        Item("Evaluation", "Comparison with clinical models and non-radiomic predictors"),
        Item("Results", "Interpretation in the clinical context and limitations"),
        Item("Open science", "Availability of data, code, spec and model",
             f"spec hash {spec['hash']} identifies the measurand; sharing of data and code: "
             "the authors'", "#methods"),
        Item("Open science", "Registration of the study protocol"),
    ]
    return items


def rqs_items(study: dict) -> list[Item]:
    """The 16 RQS components (max 36 points) with the points radiome can evidence."""
    cohort = study["cohort"]
    models = (study.get("models") or {}).get("models", [])
    binary = _binary(study)
    survival = [m for m in models if m["task"] == "survival"]
    profile = study["methods"]["has_profile"]
    calibrated = any("calibration_slope" in m["data"] for m in binary)
    curve = any("net_benefit" in m["data"] for m in binary)
    segmentations = study.get("reliability") is not None
    return [
        Item("1. Image protocol quality", "Protocols well documented (+1), public protocol "
             "(+1)", "acquisition profile in the spec, conformance checked for every case "
             "(+1; a public protocol: the authors')" if profile else AUTHORS,
             "#conformance" if profile else None, 1 if profile else None, 2),
        Item("2. Multiple segmentations", "Robustness to segmentation variability (+1)",
             "ICCs across segmentations or perturbations" if segmentations else AUTHORS,
             "#reliability" if segmentations else None, 1 if segmentations else None, 1),
        Item("3. Phantom study on all scanners", "Phantom study of the scanners (+1)",
             max_points=1),
        Item("4. Imaging at multiple time points", "Test-retest or time points (+1)",
             f"{cohort['n_timepoints']} time points stored" if cohort["n_timepoints"] > 1
             else AUTHORS, "#cohort" if cohort["n_timepoints"] > 1 else None,
             1 if cohort["n_timepoints"] > 1 else None, 1),
        Item("5. Feature reduction or multiple-testing adjustment", "Either (+3), neither (-3)",
             "feature selection inside each training fold of the nested CV" if models
             else AUTHORS, "#models" if models else None, 3 if models else None, 3),
        Item("6. Multivariable analysis with non-radiomic features", "(+1)", max_points=1),
        Item("7. Biological correlates", "Detect and discuss (+1)", max_points=1),
        Item("8. Cut-off analyses", "Risk groups by a cut-off (+1)",
             "high/low-risk groups at the training median, log-rank test" if survival
             else AUTHORS, "#models" if survival else None, 1 if survival else None, 1),
        Item("9. Discrimination statistics", "Statistic with CI (+1), resampling (+1)",
             "AUC/C-index with bootstrap CI, repeated nested CV" if models else AUTHORS,
             "#models" if models else None, 2 if models else None, 2),
        Item("10. Calibration statistics", "Statistic with CI (+1), resampling (+1)",
             "calibration slope/intercept with bootstrap CIs, out of fold" if calibrated
             else AUTHORS, "#models" if calibrated else None, 2 if calibrated else None, 2),
        Item("11. Prospective study registered", "In a trial database (+7)", max_points=7),
        Item("12. Validation", "None (-5), internal (+2), external (+3 to +5)",
             "internal: nested cross-validation (+2; external: the authors')" if models
             else AUTHORS, "#models" if models else None, 2 if models else None, 5),
        Item("13. Comparison to gold standard", "(+2)", max_points=2),
        Item("14. Potential clinical utility", "Decision curve analysis (+2)",
             "decision curve (net benefit)" if curve else AUTHORS,
             "#models" if curve else None, 2 if curve else None, 2),
        Item("15. Cost-effectiveness analysis", "(+1)", max_points=1),
        Item("16. Open science and data", "Open scans, segmentations, code, features "
             "(+1 each)", max_points=4),
    ]
