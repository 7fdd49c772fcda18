"""A multi-modality manifest: each modality's rows get their own spec (given or default), and
``export --wide`` writes one row per case with modality-prefixed columns for fusion."""

from __future__ import annotations

import pandas as pd
import yaml

from radiome.cli import main
from radiome.spec import load_spec
from radiome.synthetic import write_cohort

CT_SPEC = {
    "preprocessing": {
        "round_intensities": True,
        "discretisation": {"method": "fixed_bin_size", "bin_width": 25},
    },
    "features": {"families": ["morph", "stat", "ih"]},
}


def _two_modalities(tmp_path):
    """3 cases, each with a CT row and an MR row (same synthetic image, two modality labels)."""
    manifest = write_cohort(tmp_path, n_cases=3, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0))
    rows = manifest[["case_id", "image", "mask", "roi"]]
    both = pd.concat([rows.assign(modality="CT"), rows.assign(modality="MR")])
    both.to_csv(tmp_path / "multi.csv", index=False)
    (tmp_path / "ct.yaml").write_text(yaml.safe_dump(CT_SPEC))
    return tmp_path / "multi.csv"


def test_each_modality_gets_its_spec_and_wide_export_prefixes_its_columns(tmp_path, capsys):
    manifest = _two_modalities(tmp_path)
    store = f"sqlite:///{tmp_path / 's.db'}"
    args = ["batch", str(manifest), "--spec", f"CT={tmp_path / 'ct.yaml'}", "--store", store,
            "--workers", "1"]
    assert main(args) == 0
    err = capsys.readouterr().err
    ct_hash = load_spec(tmp_path / "ct.yaml").hash
    mr_hash = load_spec(None, modality="MR").hash  # no MR spec given: the MR default
    assert "CT run 1: 3 case(s)" in err and f"(spec {ct_hash}," in err
    assert "MR run 2: 3 case(s)" in err and f"(spec {mr_hash}," in err
    out = tmp_path / "wide.csv"
    assert main(["export", "--store", store, "--wide", "--out", str(out)]) == 0
    wide = pd.read_csv(out)
    assert len(wide) == 3 and set(wide["case_id"]) == {"case_0000", "case_0001", "case_0002"}
    assert wide["CT_spec_hash"].eq(ct_hash).all() and wide["MR_spec_hash"].eq(mr_hash).all()
    ct_cols = [c for c in wide.columns if c.startswith("CT_") and c != "CT_spec_hash"]
    mr_cols = [c for c in wide.columns if c.startswith("MR_") and c != "MR_spec_hash"]
    assert len(ct_cols) > 20 and len(mr_cols) > 20
    assert not set(wide.columns) - {"case_id", "roi", "CT_spec_hash", "MR_spec_hash",
                                    *ct_cols, *mr_cols}
    # the CT block is exactly the wide export of the CT spec alone
    single = tmp_path / "ct.csv"
    assert main(["export", "--store", store, "--wide", "--run", "1", "--out", str(single)]) == 0
    ct_alone = pd.read_csv(single).set_index("case_id")
    block = wide.set_index("case_id")[ct_cols].rename(columns=lambda c: c.removeprefix("CT_"))
    pd.testing.assert_frame_equal(block, ct_alone[block.columns], check_names=False)
    # MR is z-scored then discretised to a fixed number of bins, CT in fixed HU bins: they differ
    assert (wide["CT_stat_mean"] != wide["MR_stat_mean"]).all()


def test_bad_per_modality_specs_are_one_line(tmp_path, capsys):
    manifest = _two_modalities(tmp_path)
    store = f"sqlite:///{tmp_path / 's.db'}"
    ct = tmp_path / "ct.yaml"
    assert main(["batch", str(manifest), "--spec", f"PT={ct}", "--store", store]) == 2
    assert "--spec for PT: no manifest row has that modality (found CT, MR)" in (
        capsys.readouterr().err)
    assert main(["batch", str(manifest), "--spec", str(ct), "--store", store]) == 2
    assert "case case_0000/1 has several modalities" in capsys.readouterr().err
