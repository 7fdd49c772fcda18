"""Map kernels built ahead of time: called with exactly their declared types (numba is never
imported), and giving the same maps, bit for bit, as numba's JIT."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from radiome._kernels import compiled_status

_MAPS = """
import sys
import numpy as np
from radiome import _kernels
if sys.argv[1] == "jit":
    _kernels._extension = lambda model: None
import radiome
spec = {"preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
        "features": {"families": ["stat", "ih", "cm", "rlm", "szm", "ngt", "ngl"],
                     "aggregations": ["2d_avg", "2_5d_vmrg", "3d_avg", "3d_vmrg"]}}
maps = radiome.feature_maps(sys.argv[2], sys.argv[3], spec=spec, radius_voxels=1,
                            kernel="sphere")
np.save(sys.argv[4], maps.voxel_values)
print("numba" in sys.modules, file=sys.stderr)
"""


def test_compiled_and_jit_map_kernels_give_bit_identical_maps(shared_data, tmp_path):
    if not all(compiled_status().values()):
        if os.environ.get("RADIOME_REQUIRE_DATA") == "1":
            pytest.fail("the ahead-of-time kernels are not built for this source "
                        "(make builds them: python -m radiome._kernels)")
        pytest.skip("ahead-of-time kernels not built for this source")
    case = shared_data / "pyradiomics_cases"
    args = [str(case / "brain2_image.nrrd"), str(case / "brain2_label.nrrd")]
    runs = {mode: subprocess.run([sys.executable, "-c", _MAPS, mode, *args,
                                  str(tmp_path / f"{mode}.npy")],
                                 capture_output=True, text=True, check=True)
            for mode in ("compiled", "jit")}
    assert runs["compiled"].stderr.split()[-1] == "False"  # every call matched a signature
    assert runs["jit"].stderr.split()[-1] == "True"
    compiled, jit = np.load(tmp_path / "compiled.npy"), np.load(tmp_path / "jit.npy")
    assert compiled.shape == (453, 18 + 23 + 25 * 4 + 16 * 4 + 16 * 3 + 5 * 3 + 17 * 3)
    np.testing.assert_array_equal(compiled, jit)
