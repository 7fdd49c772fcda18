"""Scaling: radiome's time and memory against ROI size, 10^3 to 10^7 voxels.

Each ROI is ``radiome.synthetic.textured_sphere(n)`` (1 mm voxels, textured interior in soft
tissue), written once to ``.bench/scaling/`` as ``.npy`` files so that generating it costs no
memory in the measuring process. Every (spec, size) runs in a fresh process
(``scaling.py --child``): import radiome, warm up (JIT and caches) on a 10^3-voxel sphere, load
the arrays, restart peak-RSS tracking (Linux ``/proc/self/clear_refs``), then time ``repeats``
extractions. Memory is the peak RSS during the extractions; the working memory of extraction
is that peak minus the RSS after loading, reported per voxel of the ROI's bounding box.

The exponent b of time ~ n^b is a least-squares fit of log(median time) on log(voxels).
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_config import BENCH_DIR, BENCHMARKS, REPO, TOOLS
from worker import current_rss, peak_rss

__all__ = ["fit_exponent", "run_scaling"]

_DATA = BENCH_DIR / "scaling"
_WARMUP_VOXELS = 1_000


def _files(n: int) -> tuple[Path, Path]:
    return _DATA / f"sphere_{n}_image.npy", _DATA / f"sphere_{n}_mask.npy"


def _write_sphere(n: int) -> None:
    """Write the sphere of about n voxels (seed 0) unless it is already there."""
    import numpy as np

    from radiome.synthetic import textured_sphere

    image_file, mask_file = _files(n)
    if image_file.exists() and mask_file.exists():
        return
    _DATA.mkdir(parents=True, exist_ok=True)
    volume, mask = textured_sphere(n, seed=0)
    np.save(image_file, volume.array)
    np.save(mask_file, mask.array)


def _load(n: int):
    """The sphere of about n voxels as a radiome Volume and Mask (1 mm grid, CT)."""
    import numpy as np

    from radiome import Grid, Mask, Volume

    image_file, mask_file = _files(n)
    array = np.load(image_file)
    grid = Grid(shape=array.shape, spacing=(1.0, 1.0, 1.0))
    return (Volume(array=array, grid=grid, modality="CT", unit="HU", source=str(image_file)),
            Mask(array=np.load(mask_file), grid=grid, roi="sphere", source=str(mask_file)))


def _child(n: int, spec_path: str, repeats: int) -> dict:
    """Measure one size in this (fresh) process."""
    import numpy as np

    import radiome

    spec = radiome.load_spec(spec_path)
    radiome.extract(*_load(_WARMUP_VOXELS), spec=spec)
    volume, mask = _load(n)
    rss_loaded = current_rss()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # the peak RSS restarts from here: warm-up and loading are left out
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        radiome.extract(volume, mask, spec=spec)
        times.append(time.perf_counter() - started)
    peak = peak_rss()
    where = np.argwhere(mask.array)
    bbox = int(np.prod(where.max(axis=0) - where.min(axis=0) + 1))
    return {"n_target": n, "n_voxels": len(where), "bbox_voxels": bbox,
            "image_voxels": int(volume.array.size), "times": times,
            "median_s": statistics.median(times), "peak_rss": peak, "rss_loaded": rss_loaded,
            "extra_rss": peak - rss_loaded,
            "extra_bytes_per_bbox_voxel": (peak - rss_loaded) / bbox}


def fit_exponent(sizes: list[float], values: list[float]) -> float:
    """Slope b of the least-squares line log(value) = a + b log(size)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(v) for v in values]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def run_scaling(spec_path: Path, sizes: list[int], *, repeats: int, timeout: float,
                progress=print) -> dict:
    """Measure every size in a fresh process; the exponents of time and memory growth."""
    points = []
    for n in [_WARMUP_VOXELS, *sizes]:
        _write_sphere(n)
    for n in sizes:
        command = [str(TOOLS["radiome"].python_path), str(BENCHMARKS / "scaling.py"), "--child",
                   str(n), str(spec_path), str(repeats)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  cwd=REPO, check=False)
        except subprocess.TimeoutExpired:
            points.append({"n_target": n, "error": f"no result within {timeout:g} s"})
            progress(f"    {n:>10} voxels: timed out")
            continue
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            points.append({"n_target": n, "error": f"exit code {done.returncode}: {tail}"})
            progress(f"    {n:>10} voxels: failed ({tail})")
            continue
        point = json.loads(lines[-1])
        points.append(point)
        progress(f"    {point['n_voxels']:>10} voxels: {point['median_s']:.3f} s, "
                 f"peak {point['peak_rss'] / 2**20:.0f} MiB, "
                 f"{point['extra_bytes_per_bbox_voxel']:.0f} B per bounding-box voxel")
    good = [p for p in points if "error" not in p]
    result = {"spec": spec_path.name, "repeats": repeats, "points": points}
    if len(good) >= 2:
        result["time_exponent"] = fit_exponent([p["n_voxels"] for p in good],
                                               [p["median_s"] for p in good])
        result["memory_exponent"] = fit_exponent([p["n_voxels"] for p in good],
                                                 [max(p["extra_rss"], 1) for p in good])
        upper = [p for p in good if p["n_voxels"] >= 90_000]
        if len(upper) >= 2:
            result["time_exponent_from_1e5"] = fit_exponent([p["n_voxels"] for p in upper],
                                                            [p["median_s"] for p in upper])
    return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    else:
        sys.exit("usage: scaling.py --child N SPEC REPEATS (run by benchmarks/run.py)")
