"""The reliability CLI commands (``agreement``, ``icc``) on files, through typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from radiome.errors import GeometryError, MissingFileError, ReliabilityError, ROINotFoundError
from radiome.reliability import agreement
from radiome.reliability.cli import app
from radiome.volume import Mask

SPACING = (2.5, 0.8, 1.1)


def _write_labels(path, labels, spacing=SPACING):
    image = sitk.GetImageFromArray(labels.astype(np.uint8))
    image.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture
def two_masks(tmp_path):
    a = np.zeros((20, 30, 30), np.uint8)
    b = a.copy()
    a[5:12, 8:20, 6:22] = 1
    b[8:15, 8:20, 6:22] = 2  # label 2 in a file that also holds label 1
    b[0:2, 0:3, 0:3] = 1
    return _write_labels(tmp_path / "a.nii.gz", a), _write_labels(tmp_path / "b.nrrd", b), a, b


def test_agreement_json_equals_the_api(two_masks):
    path_a, path_b, a, b = two_masks
    result = CliRunner().invoke(
        app, ["agreement", str(path_a), str(path_b), "--roi-b", "2", "--tolerance", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    expected = agreement(
        Mask.from_array(a == 1, spacing=SPACING),
        Mask.from_array(b == 2, spacing=SPACING),
        tolerance_mm=2.0,
    )
    assert got == pytest.approx(dict(expected), rel=1e-6)
    assert got["dice"] == pytest.approx(8 / 14)
    assert got["hd_mm"] == pytest.approx(7.5)


def test_agreement_text_output_gives_dice_and_hd95(two_masks):
    path_a, path_b, *_ = two_masks
    result = CliRunner().invoke(app, ["agreement", str(path_a), str(path_b), "--roi-b", "2"])
    assert result.exit_code == 0, result.output
    lines = dict(line.rsplit(None, 1) for line in result.stdout.strip().splitlines())
    assert float(lines["Dice"]) == pytest.approx(0.571429)
    assert float(lines["HD95, pooled (mm)"]) == pytest.approx(7.5)
    assert "surface Dice at 1 mm" in lines


def test_agreement_errors_are_radiome_errors(two_masks, tmp_path):
    path_a, path_b, a, _ = two_masks
    other = _write_labels(tmp_path / "other.nii.gz", a, spacing=(3.0, 0.8, 1.1))
    runner = CliRunner()
    result = runner.invoke(app, ["agreement", str(path_a), str(other)])
    assert isinstance(result.exception, GeometryError)
    assert result.exit_code != 0
    assert "spacing" in str(result.exception)
    result = runner.invoke(app, ["agreement", str(path_a), str(path_b)])  # b has two labels
    assert isinstance(result.exception, ROINotFoundError)
    result = runner.invoke(app, ["agreement", str(path_a), str(tmp_path / "nope.nii.gz")])
    assert isinstance(result.exception, MissingFileError)


@pytest.mark.filterwarnings("ignore::radiome.errors.DicomWarning")
def test_agreement_rtstruct_against_its_nifti_export(shared_data):
    """STS_001 (MIRP test data): the RTSTRUCT rasterised on the DICOM CT and the NIfTI mask that
    MIRP's author exported from it describe the same GTV."""
    case = shared_data / "dicom_rt_case" / "STS_001" / "CT"
    result = CliRunner().invoke(
        app,
        [
            "agreement",
            str(case / "dicom" / "mask" / "RS.dcm"),
            str(case / "nifti" / "mask" / "mask.nii.gz"),
            "--image",
            str(case / "dicom" / "image"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["dice"] > 0.99
    assert got["hd_mm"] <= 3.27


def _ratings_csv(tmp_path):
    matrix = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    rows = [(f"t{i}", f"j{j}", v) for i, r in enumerate(matrix) for j, v in enumerate(r)]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["target", "judge", "score"]).to_csv(path, index=False)
    return path


def test_icc_command_on_shrout_fleiss_csv(tmp_path):
    path = _ratings_csv(tmp_path)
    args = ["icc", str(path), "--subject", "target", "--rater", "judge", "--value", "score"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["form"]: r for r in json.loads(result.stdout)}
    assert round(rows["ICC2"]["icc"], 2) == 0.29
    assert round(rows["ICC3k"]["icc"], 2) == 0.91
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0
    assert "6 subjects x 4 raters" in text.stdout
    assert "ICC(A,1)" in text.stdout


def test_icc_command_refuses_missing_ratings_unless_dropped(tmp_path):
    path = _ratings_csv(tmp_path)
    table = pd.read_csv(path)
    table.loc[0, "score"] = None
    table.to_csv(path, index=False)
    args = ["icc", str(path), "--subject", "target", "--rater", "judge", "--value", "score"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ReliabilityError)
    assert "['t0']" in str(result.exception)
    result = CliRunner().invoke(app, [*args, "--missing", "drop", "--json"])
    assert result.exit_code == 0, result.output
    assert {r["n_subjects"] for r in json.loads(result.stdout)} == {5}


def test_icc_command_errors_name_the_file_or_columns(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["icc", str(tmp_path / "none.csv")])
    assert isinstance(result.exception, MissingFileError)
    result = runner.invoke(app, ["icc", str(_ratings_csv(tmp_path))])  # default column names
    assert isinstance(result.exception, ReliabilityError)
    assert "missing column(s) ['subject', 'rater', 'value']" in str(result.exception)
