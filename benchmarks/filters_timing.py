"""Time each IBSI 2 filter kind on a 512 x 512 x 100 CT-like volume (not a test).

Run: ``.venv/bin/python benchmarks/filters_timing.py`` (add ``--quick`` for a 128 x 128 x 32
volume). Prints one row per filter: canonical name, dimensions, wall-clock seconds, CPU
seconds of the process (all threads: a measure of the work that other jobs on the machine do
not inflate), peak memory traced by ``tracemalloc`` (NumPy buffers), and the load average
before and after, since the machine may be shared. Settings are those of the IBSI 2 phase 2
configurations (plus a Riesz transform), on spacing (2.5, 0.7, 0.7) mm.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from radiome.filters import (
    GaborSpec,
    LawsSpec,
    LoGSpec,
    MeanSpec,
    RieszSpec,
    SimoncelliSpec,
    WaveletSpec,
    apply_filter,
    canonical_name,
)

SPACING = (2.5, 0.7, 0.7)


def ct_like_volume(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Air around an elliptic body of soft tissue with a bone ring and noise, in HU."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*(np.linspace(-1.0, 1.0, n) for n in shape), indexing="ij")
    radius = np.sqrt((x / 0.8) ** 2 + (y / 0.6) ** 2)
    volume = np.where(radius < 1.0, 40.0, -1000.0)
    volume[(radius > 0.85) & (radius < 0.9)] = 700.0
    volume[(radius < 0.3) & (np.abs(z) < 0.5)] = -50.0
    return volume + rng.normal(0.0, 20.0, shape)


def settings() -> list[object]:
    """One representative setting per filter kind, in 3D and in 2D."""
    specs: list[object] = []
    for dims, laws, low, high in (("3d", "L5E5E5", "LLH", "HHH"), ("2d", "L5E5", "LH", "HH")):
        specs += [
            MeanSpec(support=5, dimensions=dims),
            LoGSpec(sigma_mm=1.5, dimensions=dims),
            LawsSpec(kernel=laws, energy_delta=7, rotation_invariance=True, pooling="max",
                     dimensions=dims),
            GaborSpec(sigma_mm=5.0, wavelength_mm=2.0, gamma=1.5, rotation_invariance=True,
                      orientation_step_deg=22.5, pooling="average", dimensions=dims),
            WaveletSpec(wavelet="db3", bands=low, level=1, rotation_invariance=True,
                        dimensions=dims),
            WaveletSpec(wavelet="db3", bands=high, level=2, rotation_invariance=True,
                        dimensions=dims),
            SimoncelliSpec(level=1, dimensions=dims),
            RieszSpec(order=(1, 0, 0) if dims == "3d" else (1, 0),
                      base=LoGSpec(sigma_mm=1.5, dimensions=dims)),
        ]
    return specs


def main() -> None:
    """Print the timing table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="128 x 128 x 32 volume")
    args = parser.parse_args()
    shape = (32, 128, 128) if args.quick else (100, 512, 512)
    volume = ct_like_volume(shape)
    print(f"volume {shape} (z, y, x) float64, spacing {SPACING} mm, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    apply_filter(volume[:4, :16, :16], SPACING, settings()[2])  # compile the numba kernels
    print(f"{'filter':48s} {'dims':4s} {'wall s':>7s} {'CPU s':>7s} {'peak GB':>8s}")
    for spec in settings():
        tracemalloc.start()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = apply_filter(volume, SPACING, spec)
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        peak = tracemalloc.get_traced_memory()[1] / 2**30
        tracemalloc.stop()
        assert response.shape == volume.shape
        print(f"{canonical_name(spec):48s} {spec.dimensions:4s} {seconds:7.2f} {cpu:7.2f} "
              f"{peak:8.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
