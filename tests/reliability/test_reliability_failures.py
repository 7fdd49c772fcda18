"""Reliability commands on failing inputs: one-line errors; feature_icc reports its progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from radiome.cli import main
from radiome.errors import ReliabilityError, ReliabilityWarning
from radiome.reliability import feature_icc


def _long_table(n_features: int, n_subjects: int, n_raters: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {"feature": f"f{f}", "family": "stat", "filter": "", "aggregation": "",
         "value": s + rng.normal(0, 0.1), "patient": f"p{s}", "rater": f"r{r}"}
        for f in range(n_features) for s in range(n_subjects) for r in range(n_raters)
    ]
    return pd.DataFrame(rows)


def test_feature_icc_reports_each_feature_done_out_of_the_total():
    calls = []
    result = feature_icc(_long_table(4, 5, 2), on_progress=lambda done, total: calls.append(
        (done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(result) == 4


def test_perturb_with_every_case_failing_is_a_one_line_error(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
        "features": {"families": ["stat"]},
    }))
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"case_id": ["a", "b"], "image": ["a.nii.gz", "b.nii.gz"],
                  "mask": ["a_m.nii.gz", "b_m.nii.gz"], "roi": "1"}).to_csv(manifest, index=False)
    store = f"sqlite:///{tmp_path / 's.db'}"
    code = main(["perturb", str(manifest), "--spec", str(spec), "--store", store, "--n", "2",
                 "--workers", "1"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("radiome: error: ")]
    assert code == 1
    assert "run 1: 0 case(s) perturbed 2 times, 0 already stored, 2 failed" in err
    assert len(errors) == 1
    assert errors[0].startswith(f"radiome: error: {store}: no perturbed features of spec ")
    assert errors[0].endswith(f"every case failed; `radiome export --store {store} --errors` "
                              "says why")
    assert "internal error" not in err


def test_unplottable_icc_names_the_plot_file(tmp_path: Path):
    from radiome.reliability.cli import _report

    with pytest.warns(ReliabilityWarning, match="undefined"):  # 1 subject: ICC undefined
        table = feature_icc(_long_table(2, 1, 2), missing="drop")
    plot = tmp_path / "icc.png"
    with pytest.raises(ReliabilityError) as raised:
        _report(table, what="x", min_icc=0.75, out=None, plot=plot)
    assert str(raised.value) == (f"{plot}: not written: plot_icc: no feature with a defined "
                                 "ICC to plot")
    assert list(tmp_path.iterdir()) == []
