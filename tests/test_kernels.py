"""Numerical kernels: ahead-of-time machine code and numba's JIT give the same values.

The ahead-of-time extension (``python -m radiome._kernels``, run by ``make``) is called only
when the arguments have exactly a declared type; anything else goes to numba's JIT.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from radiome import _kernels
from radiome._kernels import _arguments, _matcher, compiled_status

SPEC = """
preprocessing:
  dimensions: 3d
  resampling: {spacing: [2, 2, 2]}
  round_intensities: true
  discretisation: {method: fixed_bin_number, bin_count: 16}
features:
  families: [morph, loc, stat, ih, ivh, cm, rlm, szm, dzm, ngt, ngl]
  aggregations: [3d_avg, 3d_vmrg]
filters:
  - {kind: log, sigma_mm: 2.0}
  - {kind: laws, kernel: L5E5E5, energy_delta: 2}
  - {kind: wavelet, wavelet: db2, bands: LHL}
  - {kind: gabor, sigma_mm: 4, wavelength_mm: 4, gamma: 1, theta_deg: 30}
  - {kind: mean, support: 3}
"""

_EXTRACT = """
import sys
from radiome import _kernels
if sys.argv[1] == "jit":
    _kernels._extension = lambda model: None
import radiome
table = radiome.extract(sys.argv[2], sys.argv[3], spec=sys.argv[4])
table.to_csv(sys.stdout, index=False, float_format="%.17g")
print("numba" in sys.modules, file=sys.stderr)
"""


def test_signature_arguments_are_read_at_the_top_level():
    assert _arguments("Tuple((i8[::1], f8))(f8[:, :, ::1], b1, i8)") == [
        "f8[:, :, ::1]", "b1", "i8"]
    assert _arguments("none()") == []
    with pytest.raises(ValueError, match="not a numba signature"):
        _arguments("i8")


def test_matcher_accepts_only_the_exact_types_numba_would_compile_for():
    matches = _matcher("f8(f8[::1, :], i8[:, ::1], b1, i8, f8)", print)
    f_order = np.ones((3, 2), order="F")
    c_int = np.ones((3, 2), dtype=np.int64)
    assert matches((f_order, c_int, True, 3, 1.5))
    assert not matches((np.ones((3, 2)), c_int, True, 3, 1.5))  # C, not F
    assert not matches((f_order, c_int.astype(np.int32), True, 3, 1.5))  # int32
    assert not matches((f_order, c_int[:, ::-1], True, 3, 1.5))  # not contiguous
    assert not matches((f_order, c_int, 1, 3, 1.5))  # int is not a boolean
    assert not matches((f_order, c_int, True, np.int32(3), 1.5))  # int32 scalar
    assert not matches((f_order, c_int, True, 3, 1))  # int is not a float
    readonly = c_int.copy()
    readonly.flags.writeable = False
    assert not matches((f_order, readonly, True, 3, 1.5))
    assert not matches((f_order, c_int, True, 3))


def test_unsupported_argument_type_is_refused_when_declared():
    with pytest.raises(ValueError, match="not supported"):
        _matcher("i8(UniTuple(i8, 2))", print)


def test_digest_changes_with_any_kernel_module(tmp_path, monkeypatch):
    before = _kernels._digest()
    source = tmp_path / "radiome"
    monkeypatch.setattr(_kernels, "__file__", str(source / "_kernels.py"))
    for name in (*_kernels.KERNEL_MODULES, "radiome._kernels"):
        path = source.joinpath(*name.split(".")[1:]).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        original = _kernels.Path(_kernels.__spec__.origin).parent.joinpath(
            *name.split(".")[1:]).with_suffix(".py")
        path.write_bytes(original.read_bytes())
    assert _kernels._digest() == before
    stats = source / "features" / "stats.py"
    stats.write_text(stats.read_text() + "\n")
    assert _kernels._digest() != before


def test_compiled_and_jit_kernels_give_bit_identical_tables(shared_data, tmp_path):
    if not all(compiled_status().values()):
        if os.environ.get("RADIOME_REQUIRE_DATA") == "1":
            pytest.fail("the ahead-of-time kernels are not built for this source "
                        "(make builds them: python -m radiome._kernels)")
        pytest.skip("ahead-of-time kernels not built for this source")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    case = shared_data / "pyradiomics_cases"
    args = [str(case / "brain1_image.nrrd"), str(case / "brain1_label.nrrd"), str(spec)]
    runs = {mode: subprocess.run([sys.executable, "-c", _EXTRACT, mode, *args],
                                 capture_output=True, text=True, check=True)
            for mode in ("compiled", "jit")}
    assert runs["compiled"].stderr.split()[-1] == "False"  # numba never imported
    assert runs["jit"].stderr.split()[-1] == "True"
    lines = runs["compiled"].stdout.splitlines()
    assert len(lines) > 1000
    assert lines == runs["jit"].stdout.splitlines()
