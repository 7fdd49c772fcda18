"""The study report's content: every number traced to its source, structure, checklists, CLI."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from radiome.cli import main
from radiome.cohort import FeatureStore
from radiome.report.checklists import AUTHORS


class _Page(HTMLParser):
    """Headings, tables (with their header cells), numbers and images of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.numbers: list[dict] = []
        self.tables: list[int] = []  # th count per table
        self.images: list[dict] = []
        self._num: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "table":
            self.tables.append(0)
        elif tag == "th":
            self.tables[-1] += 1
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "span" and "num" in (attrs.get("class") or "").split():
            self._num = {**attrs, "text": ""}

    def handle_data(self, data):
        if self._num is not None:
            self._num["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._num is not None:
            self.numbers.append(self._num)
            self._num = None


@pytest.fixture(scope="module")
def page(study) -> _Page:
    parsed = _Page()
    parsed.feed(study.html)
    return parsed


def _truth(study) -> dict[str, float]:
    """Every number the page may show, computed here from the store and the model JSON."""
    store = FeatureStore(study.store)
    try:
        cases, errors, runs, icc = store.cases(), store.errors(), store.runs(), store.icc()
    finally:
        store.close()
    cases = cases[~cases["roi"].str.contains("#")]
    truth = {
        "cohort.n_cases": len(cases), "cohort.n_errors": len(errors),
        "cohort.n_patients": cases["patient"].nunique(), "cohort.n_sites": cases["site"].nunique(),
        "cohort.n_scanners": 0, "cohort.n_timepoints": cases["timepoint"].nunique(),
        "cohort.n_runs": len(runs), "cohort.manifest_rows": runs["summary"].iloc[-1]["total"],
        "scanners.(not recorded)": len(cases),
    }
    for status in ("pass", "warn", "fail"):
        truth[f"conformance.{status}"] = int((cases["conformance"] == status).sum())
    for (status, reason), n in cases.groupby(["conformance", "conformance_reasons"]).size().items():
        truth[f"reasons.{status}.{reason}"] = n
    for site, n in cases["site"].value_counts().items():
        truth[f"sites.{site}"] = n
    for stage, n in errors["stage"].value_counts().items():
        truth[f"errors.stage.{stage}"] = n
    for (by, form), rows in icc.groupby(["by", "form"]):
        prefix = f"icc.{by}.{form}"
        truth |= {f"{prefix}.n_kept": rows["passes"].sum(), f"{prefix}.n_features": len(rows),
                  f"{prefix}.min_icc": rows["min_icc"].iloc[0],
                  f"{prefix}.median": rows["icc"].median()}
        for row in rows.itertuples(index=False):
            key = f"{prefix}.{row.feature}|{row.aggregation}|{row.filter}"
            for column in ("icc", "ci_low", "ci_high", "n_subjects"):
                truth[f"{key}.{column}"] = getattr(row, column)
    model = json.loads(study.model.read_text(encoding="utf-8"))
    for key, value in model.items():
        truth[f"model.0.{key}"] = len(value) if isinstance(value, list) else value
        if isinstance(value, list):
            truth[f"model.0.{key}.count"] = len(value)
    curves = model["curves"]
    truth["model.0.curves.roc.points"] = len(curves["roc"]["fpr"])
    truth["model.0.curves.calibration.bins"] = len(curves["calibration"]["count"])
    truth["model.0.curves.calibration.count"] = sum(curves["calibration"]["count"])
    return truth


def test_every_number_on_the_page_equals_its_value_in_the_store_or_model_json(study, page):
    truth = _truth(study)
    sourced = [n for n in page.numbers if not n["data-key"].startswith("derived.")]
    assert len(sourced) > 60
    for number in sourced:
        key = number["data-key"]
        assert key in truth, f"{key} on the page has no source"
        expected = truth[key]
        if expected is None:
            assert number["text"] == "n/a" and number["data-value"] == "", key
            continue
        assert float(number["data-value"]) == pytest.approx(float(expected), rel=1e-12), key
        assert math.isclose(float(number["text"]), float(expected), rel_tol=5e-3,
                            abs_tol=5e-4), (key, number["text"], expected)


def test_roc_band_and_calibration_of_the_model_json_are_drawn_with_their_numbers(study, page):
    alts = [image["alt"] for image in page.images]
    assert any(a.startswith("Out-of-fold ROC curve, mean over the CV repeats") for a in alts)
    assert any(a.startswith("Observed event rate against mean predicted") for a in alts)
    values = {n["data-key"]: float(n["data-value"]) for n in page.numbers}
    assert values["model.0.curves.calibration.count"] == 6
    assert values["model.0.curves.roc.points"] == 21


def test_km_by_risk_group_of_a_survival_json_is_drawn_with_logrank_p_and_group_sizes(tmp_path):
    from radiome.analysis._outcome import survival_array
    from radiome.analysis.curves import km_groups
    from radiome.report.analyses import model_facts

    y = survival_array([1, 0, 1, 1, 0, 1, 1, 0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0, 11.0])
    km = km_groups(y, ["high", "high", "high", "low", "high", "low", "low", "low"])
    path = tmp_path / "survival.json"
    path.write_text(json.dumps({"task": "survival", "c_index": 0.7, "curves": {"km": km}}),
                    encoding="utf-8")
    curve = model_facts([path])["models"][0]["curves"][0]
    assert curve["key"] == "km" and curve["plot"].startswith("data:image/svg+xml;base64,")
    numbers = {key: value for _, value, key in curve["numbers"]}
    assert numbers == {"curves.km.logrank_p": km["logrank_p"], "curves.km.high.n": 4,
                       "curves.km.low.n": 4, "curves.km.high.n_events": 2,
                       "curves.km.low.n_events": 3}


def test_every_numeric_table_cell_is_a_traced_number(study):
    cells = re.findall(r"<td>([^<]*)</td>", study.html)
    bare = [c for c in cells if re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", c)]
    assert bare == []


def test_headings_descend_one_level_at_a_time_from_a_single_h1(page):
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    steps = [b - a for a, b in zip(page.headings, page.headings[1:], strict=False)]
    assert max(steps) == 1


def test_every_table_has_header_cells(page):
    assert page.tables and min(page.tables) >= 2


def test_every_image_is_embedded_with_alt_text(page):
    assert len(page.images) >= 8
    for image in page.images:
        assert image["src"].startswith(("data:image/svg+xml;base64,", "data:image/jpeg;base64,"))
        assert len(image.get("alt", "")) > 10


def test_page_fetches_nothing_from_the_network(study):
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", study.html)
    assert "@import" not in study.html


def test_flagged_cases_come_first_in_the_quality_pictures(study):
    captions = re.findall(r"<figcaption><strong>([^<]+)</strong>", study.html)
    assert len(captions) == 12
    # case_0001 failed conformance, case_0002 (its rater-a row, k=4) carries a warning
    assert captions[:2] == ["case_0001", "case_0002"]
    assert "conformance fail: slice thickness 5 mm outside [1, 3] mm" in study.html
    assert "1 warning(s), e.g. ROI has 12 voxels" in study.html


def test_images_were_located_through_the_run_manifest_and_checked_by_hash(study):
    assert f"the manifest(s) recorded with the runs ({study.folder / 'manifest.csv'})" in study.html
    assert "checked against the SHA-256 hash" in study.html
    assert "No picture" not in study.html


def test_errors_are_listed_with_their_stage(study):
    row = r'<th scope="row">broken</th><td><code>1</code></td><td>read image</td>'
    assert re.search(row, study.html)


def test_methods_are_written_from_the_stored_spec(study):
    assert "Re-segmentation: range [-1000, +inf]; outliers kept." in study.html
    assert "Discretisation (histogram, texture): fixed bin size (Q3RU) of 25." in study.html
    assert "3D, averaged over directions (ITBB); 3D, merged over directions (IAZD)" in study.html


def test_segmentation_agreement_of_identical_masks_is_perfect(page):
    dice = [n for n in page.numbers if n["data-key"].startswith("derived.dice.")]
    hd95 = [n for n in page.numbers if n["data-key"].startswith("derived.hd95.")]
    assert len(dice) == len(hd95) == 6
    assert {float(n["data-value"]) for n in dice} == {1.0}
    assert {float(n["data-value"]) for n in hd95} == {0.0}


def test_harmonisation_removes_the_site_shift(page):
    values = {n["data-key"]: float(n["data-value"]) for n in page.numbers}
    assert values["derived.harmonisation.n_sites"] == 2
    assert values["derived.harmonisation.before"] > values["derived.harmonisation.after"]


def test_habitat_fractions_of_the_stored_parts_are_shown(page):
    values = {n["data-key"]: float(n["data-value"]) for n in page.numbers}
    assert values["derived.habitats.n"] == 2 and values["derived.habitats.cases"] == 1


def test_rqs_subtotal_adds_only_the_evidenced_items(study, page):
    from radiome.report import collect_study

    facts = collect_study(study.store, models=[study.model], cache=study.folder / "cache",
                          pictures=False)
    evidenced = {i.topic.split(".")[0]: i.points for i in facts["rqs_items"] if i.evidenced}
    # 2 segmentations, 5 selection, 9 discrimination, 10 calibration, 12 internal, 14 DCA
    assert evidenced == {"2": 1, "5": 3, "9": 2, "10": 2, "12": 2, "14": 2}
    values = {n["data-key"]: float(n["data-value"]) for n in page.numbers}
    assert (values["derived.rqs.total"], values["derived.rqs.max"]) == (12, 15)


def test_unknowable_checklist_items_are_left_to_the_authors(study):
    from radiome.report import collect_study

    facts = collect_study(study.store, models=[study.model], cache=study.folder / "cache",
                          pictures=False)
    items = {i.asks: i for i in facts["clear_items"]}
    assert items["Study design, clinical setting and aims"].evidence == AUTHORS
    assert items["Registration of the study protocol"].evidence == AUTHORS
    assert items["Calibration"].link == "#models"
    rqs = {i.topic: i for i in facts["rqs_items"]}
    assert rqs["11. Prospective study registered"].points is None
    assert study.html.count(AUTHORS) == sum(
        not i.evidenced for i in [*facts["clear_items"], *facts["rqs_items"]])


def test_report_command_writes_the_page_and_names_it(study, tmp_path, capsys):
    out = tmp_path / "again.html"
    code = main(["report", "--store", study.store, "--model", str(study.model), "--out",
                 str(out), "--no-pictures"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"report written to {out}"
    assert "<h1>Study report</h1>" in out.read_text(encoding="utf-8")


def test_report_command_rejects_a_json_that_is_no_evaluation(study, tmp_path, capsys):
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"auc": 0.7}), encoding="utf-8")
    code = main(["report", "--store", study.store, "--model", str(bad), "--out",
                 str(tmp_path / "r.html")])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"radiome: error: {bad}: not the JSON of `radiome model evaluate --json` (needs 'task' "
        "binary or survival and its 'auc' or 'c_index')")
    assert not (tmp_path / "r.html").exists()


def test_radiome_report_is_callable_as_the_package(study, tmp_path):
    import radiome

    out = radiome.report(study.store, tmp_path / "r.html", pictures=False)
    assert out == tmp_path / "r.html" and out.stat().st_size > 10_000


def test_ibsi_compliance_matches_the_phantom_and_is_cached_for_this_software(shared_data,
                                                                             tmp_path):
    from radiome.report.methods import ibsi_compliance

    first = ibsi_compliance(shared_data / "ibsi1", cache=tmp_path)
    assert first["status"] == "computed"
    assert first["matched"] == first["total"] > 400
    again = ibsi_compliance(None, cache=tmp_path)
    assert again["status"] == "cached"
    assert (again["matched"], again["total"]) == (first["matched"], first["total"])


def test_demo_ends_by_writing_the_report_and_printing_its_path(demo):
    printed = " ".join(demo.printed.split())
    assert printed.endswith(f"study report: {demo.report}")
    page = demo.report.read_text(encoding="utf-8")
    assert re.search(r'data-key="cohort.n_cases" data-value="3"', page)
    assert page.count("<figcaption>") == 3
    frame = pd.read_csv(demo.folder / "features.csv")
    assert frame["case_id"].nunique() == 3


def test_report_command_names_a_missing_store_in_one_line(tmp_path, capsys):
    missing = tmp_path / "none.db"
    code = main(["report", "--store", f"sqlite:///{missing}", "--out", str(tmp_path / "r.html")])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"radiome: error: sqlite:///{missing}: no feature store at {missing} (no such file); "
        "check the path, or run `radiome batch` to create one")


def test_report_of_an_empty_store_says_what_is_missing(tmp_path):
    import radiome

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    FeatureStore(url, create=True).close()
    html = radiome.report(url, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'data-key="cohort.n_cases" data-value="0"' in html
    assert "The store holds no reliability results" in html
    assert "No model evaluation was given" in html


def test_delta_figure_follows_the_patients_scanned_more_than_once():
    from radiome.report.analyses import delta_facts

    table = pd.DataFrame({
        "case_id": ["p1a", "p1b", "p2a", "p2b", "p3a"], "roi": "1", "filter": "",
        "feature": "morph_volume", "aggregation": "", "value": [10.0, 8.0, 5.0, 6.0, 3.0],
        "patient": ["p1", "p1", "p2", "p2", "p3"], "timepoint": ["T0", "T1", "T0", "T10", "T0"]})
    facts = delta_facts(table)
    assert (facts["feature"], facts["n_patients"], facts["n_timepoints"]) == (
        "morph_volume", 2, 3)
    assert facts["plot"].startswith("data:image/svg+xml;base64,")
    assert delta_facts(table[table["patient"] == "p3"]) is None
