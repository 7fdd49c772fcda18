"""Filter spec models: validation, the discriminated union and canonical names."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from radiome.filters import (
    FilterSpec,
    GaborSpec,
    LawsSpec,
    LoGSpec,
    MeanSpec,
    RieszSpec,
    SimoncelliSpec,
    WaveletSpec,
    canonical_name,
)

_GABOR = {"sigma_mm": 5.0, "wavelength_mm": 2.0, "gamma": 1.5}


def test_union_picks_the_model_by_kind() -> None:
    specs = TypeAdapter(list[FilterSpec]).validate_python([
        {"kind": "mean", "support": 5},
        {"kind": "log", "sigma_mm": 1.5, "dimensions": "2d"},
        {"kind": "riesz", "order": [1, 0, 0], "base": {"kind": "simoncelli", "level": 2}},
    ])
    assert [type(s) for s in specs] == [MeanSpec, LoGSpec, RieszSpec]
    assert specs[1].dimensions == "2d"
    assert specs[2].base == SimoncelliSpec(level=2)
    assert (specs[2].dimensions, specs[2].boundary) == ("3d", "mirror")


@pytest.mark.parametrize(("spec", "name"), [
    (MeanSpec(support=5), "mean_m5"),
    (MeanSpec(support=15, dimensions="2d", boundary="zero"), "mean_m15_2d_zero"),
    (LoGSpec(sigma_mm=1.5), "log_s1.5mm"),
    (LoGSpec(sigma_mm=3, truncate=3.5, boundary="nearest"), "log_s3mm_tr3.5_nearest"),
    (LawsSpec(kernel="l5e5e5", energy_delta=7, rotation_invariance=True),
     "laws_l5e5e5_e7_ri-max"),
    (LawsSpec(kernel="L5E5", dimensions="2d"), "laws_l5e5_2d"),
    (GaborSpec(**_GABOR, rotation_invariance=True, orientation_step_deg=22.5),
     "gabor_s5mm_l2mm_g1.5_t0_step22.5_ri-avg"),
    (GaborSpec(**_GABOR, theta_deg=60, dimensions="2d"), "gabor_s5mm_l2mm_g1.5_t60_2d"),
    (WaveletSpec(wavelet="db3", bands="llh", rotation_invariance=True),
     "wavelet_db3_llh_l1_ri-avg"),
    (WaveletSpec(wavelet="haar", bands="HH", level=2, decimated=True, dimensions="2d",
                 boundary="periodic"), "wavelet_haar_hh_l2_dec_2d_periodic"),
    (SimoncelliSpec(level=2), "simoncelli_l2"),
    (RieszSpec(order=(1, 0, 0), base=LoGSpec(sigma_mm=3, boundary="zero")),
     "riesz_o1-0-0_log_s3mm_zero"),
])
def test_canonical_name_of_each_example(spec: object, name: str) -> None:
    assert canonical_name(spec) == name


def test_names_differ_whenever_a_parameter_differs() -> None:
    gabor_ri = {**_GABOR, "rotation_invariance": True, "orientation_step_deg": 45.0}
    specs = [
        MeanSpec(support=5), MeanSpec(support=7), MeanSpec(support=5, dimensions="2d"),
        MeanSpec(support=5, boundary="zero"), MeanSpec(support=5, boundary="nearest"),
        MeanSpec(support=5, boundary="periodic"),
        LoGSpec(sigma_mm=1.5), LoGSpec(sigma_mm=1.25), LoGSpec(sigma_mm=1.5, truncate=3.0),
        LawsSpec(kernel="E5L5S5"), LawsSpec(kernel="L5E5S5"),
        LawsSpec(kernel="E5L5S5", energy_delta=7), LawsSpec(kernel="E5L5S5", energy_delta=0),
        LawsSpec(kernel="E5L5S5", rotation_invariance=True),
        LawsSpec(kernel="E5L5S5", rotation_invariance=True, pooling="average"),
        GaborSpec(**_GABOR), GaborSpec(**_GABOR, theta_deg=22.5), GaborSpec(**gabor_ri),
        GaborSpec(**{**gabor_ri, "pooling": "max"}),
        GaborSpec(**{**gabor_ri, "orientation_step_deg": 22.5}),
        GaborSpec(**{**_GABOR, "gamma": 0.5}), GaborSpec(**{**_GABOR, "wavelength_mm": 4.0}),
        GaborSpec(**{**_GABOR, "sigma_mm": 10.0}), GaborSpec(**_GABOR, truncate=3.0),
        WaveletSpec(wavelet="db3", bands="LLH"), WaveletSpec(wavelet="db2", bands="LLH"),
        WaveletSpec(wavelet="db3", bands="HLL"), WaveletSpec(wavelet="db3", bands="LLH", level=2),
        WaveletSpec(wavelet="db3", bands="LLH", decimated=True),
        WaveletSpec(wavelet="db3", bands="LLH", rotation_invariance=True),
        WaveletSpec(wavelet="db3", bands="LLH", rotation_invariance=True, pooling="max"),
        SimoncelliSpec(level=1), SimoncelliSpec(level=2), SimoncelliSpec(level=1, dimensions="2d"),
        RieszSpec(order=(1, 0, 0), base=LoGSpec(sigma_mm=1.5)),
        RieszSpec(order=(0, 1, 0), base=LoGSpec(sigma_mm=1.5)),
        RieszSpec(order=(1, 0, 0), base=SimoncelliSpec(level=1)),
    ]
    names = [canonical_name(s) for s in specs]
    assert len(set(names)) == len(names), names


def test_same_parameters_give_the_same_name() -> None:
    first = LawsSpec(kernel="e5l5s5", rotation_invariance=True, pooling="max")
    second = LawsSpec.model_validate({"rotation_invariance": True, "kernel": "E5L5S5"})
    assert first == second
    assert canonical_name(first) == canonical_name(second)


@pytest.mark.parametrize(("model", "fields", "match"), [
    (MeanSpec, {"support": 4}, "odd"),
    (MeanSpec, {"support": 0}, "greater than 0"),
    (MeanSpec, {"support": 5, "size": 5}, "Extra inputs"),
    (MeanSpec, {"support": 5, "boundary": "reflect"}, "zero"),
    (LoGSpec, {"sigma_mm": -1.0}, "greater than 0"),
    (LoGSpec, {"sigma_mm": float("inf")}, "finite"),
    (LawsSpec, {"kernel": "E5L5"}, "3 Laws kernels"),
    (LawsSpec, {"kernel": "E5L5X5"}, "L3, E3"),
    (LawsSpec, {"kernel": "E5L5", "pooling": "max", "dimensions": "2d"}, "pooling"),
    (GaborSpec, {**_GABOR, "orientation_step_deg": 45.0}, "orientation_step_deg"),
    (GaborSpec, {**_GABOR, "rotation_invariance": True}, "orientation_step_deg"),
    (GaborSpec, {**_GABOR, "rotation_invariance": True, "orientation_step_deg": 50.0},
     "divide 360"),
    (WaveletSpec, {"wavelet": "db99", "bands": "LLH"}, "PyWavelets"),
    (WaveletSpec, {"wavelet": "db2", "bands": "LH"}, "3 letters"),
    (WaveletSpec, {"wavelet": "db2", "bands": "LLX"}, "L or H"),
    (WaveletSpec, {"wavelet": "db2", "bands": "LLH", "level": 0}, "greater than or equal"),
    (SimoncelliSpec, {"level": 0}, "greater than or equal"),
    (RieszSpec, {"order": [1, 0], "base": {"kind": "log", "sigma_mm": 1.0}}, "3 non-negative"),
    (RieszSpec, {"order": [0, 0, 0], "base": {"kind": "log", "sigma_mm": 1.0}}, "positive sum"),
    (RieszSpec, {"order": [1, 0, 0], "base": {"kind": "mean", "support": 3}}, "does not match"),
])
def test_invalid_specs_are_refused_with_the_culprit_named(model: type, fields: dict,
                                                          match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        model.model_validate(fields)


def test_specs_are_frozen() -> None:
    spec = LoGSpec(sigma_mm=1.5)
    with pytest.raises(ValidationError, match="frozen"):
        spec.sigma_mm = 2.0  # type: ignore[misc]
