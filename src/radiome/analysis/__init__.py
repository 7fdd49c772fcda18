"""Analysis layer: from a feature table and clinical data to validated biomarkers.

Harmonisation (:class:`ComBat`), reliability-based selection, the leak-free
:class:`BiomarkerPipeline` and its :func:`nested_cv`, and the statistics of the three biomarker
questions: diagnostic (AUC with DeLong CI, paired DeLong test, threshold metrics), prognostic
(C-indices, time-dependent AUC, integrated Brier score, risk groups), additive (likelihood-ratio
test, NRI, IDI) and predictive (treatment x biomarker interaction); delta-radiomics (per-patient
feature changes between time points, judged against the repeatability coefficient);
calibration and decision curves of binary models; radiogenomics (confounder-adjusted association
screen with FDR control, penalised prediction of genomic labels with unpenalised confounders).
Functions take DataFrames and arrays; nothing here reads images.

Names are imported on first use, so ``import radiome.analysis`` does not load scikit-learn,
scikit-survival, lifelines, statsmodels or matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

__all__ = [
    "BiomarkerPipeline",
    "CVResult",
    "Cohort",
    "ComBat",
    "FeatureData",
    "FusionModel",
    "PenalizedLogistic",
    "PenalizedRegression",
    "RadiogenomicData",
    "ReliabilityFilter",
    "SavedModel",
    "anova_f",
    "association_heatmap",
    "association_screen",
    "auc_delong",
    "calibration_metrics",
    "calibration_plot",
    "calibration_summary",
    "classification_metrics",
    "concordance",
    "cox_score",
    "decision_curve_plot",
    "default_pipeline",
    "default_times",
    "delong_test",
    "delta_features",
    "delta_repeatability",
    "delta_waterfall",
    "delta_wide",
    "ensemble_grid",
    "evaluate",
    "evaluate_fusion",
    "fit_model",
    "forest_plot",
    "fusion_cv",
    "fusion_summary",
    "harrell_c",
    "idi",
    "integrated_brier",
    "kaplan_meier",
    "km_plot",
    "likelihood_ratio_test",
    "load_cohort",
    "load_features",
    "load_model",
    "load_radiogenomics",
    "logrank",
    "modality_columns",
    "model_search_grid",
    "nested_cv",
    "net_benefit",
    "nri",
    "predict",
    "predict_genomic",
    "predictive_value",
    "read_features",
    "read_icc",
    "read_modalities",
    "roc_plot",
    "save_model",
    "stable_features",
    "survival_array",
    "time_dependent_auc",
    "treatment_effect",
    "uno_c",
    "volcano_plot",
    "youden_threshold",
]

_MODULES = {
    "harmonize": ("ComBat",),
    "selection": ("ReliabilityFilter", "anova_f", "cox_score", "stable_features"),
    "pipeline": ("BiomarkerPipeline", "default_pipeline"),
    "validation": ("CVResult", "default_times", "nested_cv"),
    "diagnostic": ("auc_delong", "classification_metrics", "delong_test", "youden_threshold"),
    "survival": (
        "concordance",
        "harrell_c",
        "integrated_brier",
        "kaplan_meier",
        "logrank",
        "time_dependent_auc",
        "uno_c",
    ),
    "reclassification": ("idi", "likelihood_ratio_test", "nri"),
    "predictive": ("predictive_value", "treatment_effect"),
    "plots": ("association_heatmap", "calibration_plot", "decision_curve_plot",
              "delta_waterfall", "forest_plot", "km_plot", "roc_plot", "volcano_plot"),
    "penalized": ("PenalizedLogistic", "PenalizedRegression"),
    "radiogenomics": ("RadiogenomicData", "association_screen", "load_radiogenomics",
                      "predict_genomic"),
    "calibration": ("calibration_metrics", "calibration_summary", "net_benefit"),
    "delta": ("delta_features", "delta_repeatability", "delta_wide"),
    "fusion": ("FusionModel", "evaluate_fusion", "fusion_cv", "fusion_summary",
               "modality_columns", "read_modalities"),
    "search": ("ensemble_grid", "model_search_grid"),
    "tables": ("Cohort", "FeatureData", "load_cohort", "load_features", "read_features",
               "read_icc"),
    "workflow": ("SavedModel", "evaluate", "fit_model", "load_model", "predict", "save_model"),
    "_outcome": ("survival_array",),
}
_EXPORTS = {name: f"radiome.analysis.{module}" for module, names in _MODULES.items()
            for name in names}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome.analysis.harmonize import ComBat
    from radiome.analysis.selection import ReliabilityFilter, anova_f, cox_score, stable_features
    from radiome.analysis.pipeline import BiomarkerPipeline, default_pipeline
    from radiome.analysis.validation import CVResult, default_times, nested_cv
    from radiome.analysis.diagnostic import (
        auc_delong,
        classification_metrics,
        delong_test,
        youden_threshold,
    )
    from radiome.analysis.survival import (
        concordance,
        harrell_c,
        integrated_brier,
        kaplan_meier,
        logrank,
        time_dependent_auc,
        uno_c,
    )
    from radiome.analysis.reclassification import idi, likelihood_ratio_test, nri
    from radiome.analysis.predictive import predictive_value, treatment_effect
    from radiome.analysis.plots import (
        association_heatmap,
        calibration_plot,
        decision_curve_plot,
        delta_waterfall,
        forest_plot,
        km_plot,
        roc_plot,
        volcano_plot,
    )
    from radiome.analysis.delta import delta_features, delta_repeatability, delta_wide
    from radiome.analysis.fusion import (
        FusionModel,
        evaluate_fusion,
        fusion_cv,
        fusion_summary,
        modality_columns,
        read_modalities,
    )
    from radiome.analysis.search import ensemble_grid, model_search_grid
    from radiome.analysis.tables import (
        Cohort,
        FeatureData,
        load_cohort,
        load_features,
        read_features,
        read_icc,
    )
    from radiome.analysis.workflow import (
        SavedModel,
        evaluate,
        fit_model,
        load_model,
        predict,
        save_model,
    )
    from radiome.analysis._outcome import survival_array
    from radiome.analysis.calibration import calibration_metrics, calibration_summary, net_benefit
    from radiome.analysis.penalized import PenalizedLogistic, PenalizedRegression
    from radiome.analysis.radiogenomics import (
        RadiogenomicData,
        association_screen,
        load_radiogenomics,
        predict_genomic,
    )
