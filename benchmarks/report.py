"""benchmarks/results.md from the results of ``run.py`` (plain data, see ``run.py``)."""

from __future__ import annotations

from pyradiomics_pairs import PAIRS, RELATIVE_TOLERANCE, UNMATCHED
from bench_config import MODES
from vs_pictologics import render as render_pictologics

__all__ = ["render"]

_MIB = 2**20


def _secs(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 0.1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value / _MIB:,.0f} MiB"


def _timing(record: dict) -> str:
    """'median (min–max)' of a tool, or its failure."""
    if record.get("status") != "ok" or "median_s" not in record:
        return f"failed: {record.get('error', '?')}"
    return f"{_secs(record['median_s'])} ({_secs(record['min_s'])}–{_secs(record['max_s'])})"


def _header(results: dict) -> list[str]:
    m = results["machine"]
    smoke = results.get("smoke_reasons") or []
    lines = ["# radiome benchmark results", ""]
    if smoke:
        lines += ["> **Smoke run, not the benchmark**: " + "; ".join(smoke) + ". "
                  "Run `make bench` on a quiet machine for the numbers that count.", ""]
    lines += [
        f"- Command: `{results['command']}`",
        f"- Started {results['started']}, took {results['duration_s'] / 60:.1f} min",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']:.0f} GiB memory, "
        f"{m['os']}; 1-minute load average {m['load_start']:.2f} at the start, "
        f"{m.get('load_end', float('nan')):.2f} at the end",
        f"- Repetitions: {results['reps']} timed repetitions per tool after a warm-up (a "
        "first run, then more until they add up to 1 s, none after a first run over 10 s), "
        "alternating radiome, other, radiome, other ...; a repetition of a tool that runs in "
        "under 0.2 s is the mean of as many back-to-back runs as make 0.2 s (as `timeit` "
        "does; a lone run of milliseconds right after the other tool's would time the idle "
        "core waking up), the count (loops) is in the overheads table; fresh worker "
        "processes for every case and mode",
        "",
        "Times are the computation alone, inside each tool's own long-lived process, from "
        "images already in memory (radiome: `radiome.extract()` on a loaded `Volume`/`Mask`; "
        "PyRadiomics: `execute()` on SimpleITK images; MIRP: `extract_features()` on in-memory "
        "arrays with their geometry). Reading files, interpreter start-up and imports are in "
        "[their own table](#overheads). Ratio = other tool's median / radiome's median. Peak "
        "RSS is each worker process's peak resident memory (VmHWM; `ru_maxrss` would include "
        "the coordinator's, which Linux keeps across fork and exec) during the timed runs of "
        "that case and mode (tracking restarted after the warm-up through "
        "`/proc/self/clear_refs`), imports and the images in memory included; working memory "
        "is that peak minus the RSS just before the timed runs. The process's peak including "
        "the warm-up (JIT compilation) is in the overheads table.",
        "",
    ]
    versions = results.get("versions", {})
    if versions:
        lines += ["| tool | versions |", "| --- | --- |"]
        for tool, v in versions.items():
            lines.append(f"| {tool} | " + ", ".join(f"{k} {val}" for k, val in v.items()) + " |")
        lines.append("")
    return lines


def _working(record: dict) -> float | None:
    """Peak RSS of the timed runs above the RSS before them: the extraction's working memory."""
    if record.get("peak_rss") is None or record.get("rss_before_runs") is None:
        return None
    return max(record["peak_rss"] - record["rss_before_runs"], 0)


def _agreement_cell(results: dict, case: str) -> str:
    for a in results.get("agreement", []):
        if a["case"] == case and a["status"] == "ok":
            s = a["counts"]["same"]
            return f"{s['agree']}/{s['compared']}"
    return "–"


def _speed(results: dict) -> list[str]:
    lines = ["## Speed", ""]
    unavailable = results.get("unavailable_modes", {})
    for name, mode in MODES.items():
        if name not in results["modes"]:
            continue
        lines += [f"### {name}: {mode.title} (radiome vs {mode.other})", ""]
        if name in unavailable:
            lines += [f"Not available: {unavailable[name]}", ""]
            continue
        lines += [f"radiome spec: `benchmarks/specs/{mode.spec}`.", ""]
        agree = " | agreement" if mode.other == "pyradiomics" else ""
        lines += [f"| case | radiome | {mode.other} | ratio | peak RSS radiome / {mode.other} | "
                  f"working memory radiome / {mode.other} | values radiome / {mode.other}"
                  f"{agree} |",
                  "| --- | --- | --- | --- | --- | --- | ---" + (" | ---" if agree else "") + " |"]
        for r in results["speed"]:
            if r["mode"] != name:
                continue
            ours, other = r["tools"]["radiome"], r["tools"][mode.other]
            ratio = f"**{r['ratio']:.1f}×**" if "ratio" in r else "–"
            row = (f"| {r['case']} | {_timing(ours)} | {_timing(other)} | {ratio} | "
                   f"{_mib(ours.get('peak_rss'))} / {_mib(other.get('peak_rss'))} | "
                   f"{_mib(_working(ours))} / {_mib(_working(other))} | "
                   f"{ours.get('n_values', '–')} / {other.get('n_values', '–')}")
            if agree:
                row += f" | {_agreement_cell(results, r['case'])}"
            lines.append(row + " |")
        lines.append("")
        if mode.other == "mirp":
            lines += [
                "MIRP runs with its defaults where radiome has no setting: it estimates Moran's I "
                "and Geary's C from random samples of 100 voxels (for ROIs of 1000 voxels or "
                "more) until the standard error is small, where radiome computes them exactly "
                "over all voxel pairs; and it searches for local intensity peaks in every "
                "response map, which is most of its time in the filtered mode. MIRP holds "
                "images as float32, radiome as float64. MIRP's IBSI-compliant set leaves out "
                "the oriented-bounding-box and minimum-volume-ellipsoid densities and the IVH "
                "area under the curve, which radiome computes, and adds IVH values at 25, 50 "
                "and 75 %.", ""]
        if mode.other == "pyradiomics":
            lines += [
                "Agreement: shared features of the original image that follow the same "
                f"definition and agree within {RELATIVE_TOLERANCE:g} relative "
                "([details](#agreement-with-pyradiomics)). PyRadiomics runs with "
                "`additionalInfo` off (no diagnostics, no image hashing), which only helps it.",
                ""]
    return lines


def _criteria(results: dict) -> list[str]:
    lines = ["## Targets (issue 5)", ""]
    rows = []
    for r in results["speed"]:
        other = MODES[r["mode"]].other
        theirs = r["tools"][other].get("median_s")
        if "ratio" not in r:
            continue
        if other == "pyradiomics":
            if theirs >= 0.5:
                target, ok = "≥ 20×", r["ratio"] >= 20
            else:
                target, ok = "≥ 1× (small case)", r["ratio"] >= 1
        else:
            target, ok = "≥ 50×", r["ratio"] >= 50
        ours_rss = r["tools"]["radiome"].get("peak_rss")
        theirs_rss = r["tools"][other].get("peak_rss")
        memory = "–" if ours_rss is None or theirs_rss is None else (
            "yes" if ours_rss < theirs_rss else "**no**")
        rows.append(f"| {r['case']} | {r['mode']} | {r['ratio']:.1f}× | {target} | "
                    f"{'yes' if ok else '**no**'} | {memory} |")
    if rows:
        lines += ["| case | mode | ratio | target | met | radiome peak RSS below the other's |",
                  "| --- | --- | --- | --- | --- | --- |", *rows, ""]
    for s in results.get("scaling", []):
        if "time_exponent" in s:
            ok = "yes" if s["time_exponent"] <= 1.15 else "**no**"
            lines.append(f"- Scaling exponent ({s['spec']}): {s['time_exponent']:.3f} "
                         f"(target ≤ 1.15: {ok})")
    return [*lines, ""]


def _process(results: dict) -> list[str]:
    rows = results.get("process")
    if not rows:
        return []
    lines = ["## Whole process, one case (issue 13)", "",
             "`radiome extract IMAGE MASK --spec benchmarks/specs/original.yaml --out x.csv` "
             "against `pyradiomics IMAGE MASK -o x.csv -f csv` (its defaults: binWidth 25, the "
             "original image, every feature class), each a fresh process from a shell: start-up, "
             "imports, reading, computing and writing included. Alternating runs after one "
             "untimed run of each; CPU time (user + system) and wall time of the child process, "
             "median (min–max); ratio = PyRadiomics / radiome. Target: ≥ 2× on lung2.", "",
             "| case | radiome CPU | PyRadiomics CPU | ratio (CPU) | radiome wall | "
             "PyRadiomics wall | ratio (wall) | target met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | failed: {r['error']} | | | | | | |")
            continue
        ours, theirs = r["tools"]["radiome"], r["tools"]["pyradiomics"]
        target = ("yes" if r["cpu_ratio"] >= 2 else "**no**") if r["case"] == "lung2" else "–"
        cells = [f"{_secs(t[f'{k}_median_s'])} ({_secs(t[f'{k}_min_s'])}–"
                 f"{_secs(t[f'{k}_max_s'])})" for k in ("cpu", "wall") for t in (ours, theirs)]
        lines.append(f"| {r['case']} | {cells[0]} | {cells[1]} | {r['cpu_ratio']:.2f}× | "
                     f"{cells[2]} | {cells[3]} | {r['wall_ratio']:.2f}× | {target} |")
    return [*lines, ""]


def _overheads(results: dict) -> list[str]:
    lines = ["## Overheads", "",
             "Per worker process: interpreter start-up (spawn to the first line of the worker); "
             "imports of the tool, split into those at import and those the tool defers to its "
             "first file read (first read minus second read); reading the case's files into "
             "memory (the second read); the first (warm-up) extraction (JIT compilation, caches) "
             "and how many warm-up runs there were in all; the runs per timed repetition (loops); "
             "the process's RSS after loading, and "
             "its peak RSS over its whole life.", "",
             "| case | mode | tool | start-up | imports | lazy imports | read | warm-up | "
             "warm-up runs | loops | RSS after load | process peak RSS |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results["speed"]:
        for tool, rec in r["tools"].items():
            lines.append(f"| {r['case']} | {r['mode']} | {tool} | {_secs(rec.get('startup_s'))} "
                         f"| {_secs(rec.get('import_s'))} | {_secs(rec.get('lazy_import_s'))} | "
                         f"{_secs(rec.get('read_s'))} | {_secs(rec.get('warmup_s'))} | "
                         f"{rec.get('warmup_runs', '–')} | {rec.get('loops', '–')} | "
                         f"{_mib(rec.get('rss_loaded'))} | {_mib(rec.get('process_peak_rss'))} |")
    return [*lines, ""]


def _maps(results: dict) -> list[str]:
    rows = results.get("maps")
    if not rows:
        return []
    lines = ["## Voxel-wise GLCM maps (issue 14)", "",
             "`benchmarks/maps.py`: the 24 GLCM maps of PyRadiomics' voxel mode (3D, averaged "
             "over the 13 directions, binWidth 25, masked kernel, cube of radius r) from "
             "radiome (`radiome.feature_maps`, `benchmarks/specs/maps_glcm.yaml`, 25 maps), "
             "PyRadiomics 3.1 (`voxelBased=True`) and flash-radiomics 1.0 (CPU backend, "
             "`num_threads=1`, `spatialMode=True`; it also writes its HDF5 file). Each tool in "
             "a fresh process with the images in memory; radiome and flash-radiomics after a "
             "warm-up on brain2, PyRadiomics cold and once (minutes per run). CPU time of the "
             "one timed run (`time.process_time()`, one thread) and its wall time; peak RSS is "
             "the process's peak during that run (images in memory included). Goal on lung2: "
             "radiome ≤ 1.5 s, ≥ 10× flash-radiomics, ≥ 200× PyRadiomics, peak < 500 MiB.", "",
             "| case | r | ROI voxels | radiome CPU (wall) | flash-radiomics CPU (wall) | "
             "PyRadiomics CPU (wall) | flash / radiome | PyRadiomics / radiome | peak RSS "
             "radiome / flash / PyRadiomics | goal met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tools = r["tools"]
        cells, ratios = [], []
        for tool in ("radiome", "flash", "pyradiomics"):
            t = tools.get(tool, {})
            cells.append(f"{_secs(t['cpu_s'])} ({_secs(t['wall_s'])})" if t.get("status") == "ok"
                         else f"failed: {t.get('error', '?')}")
        ours = tools.get("radiome", {})
        for tool in ("flash", "pyradiomics"):
            t = tools.get(tool, {})
            ok = t.get("status") == "ok" and ours.get("status") == "ok"
            ratios.append(t["cpu_s"] / ours["cpu_s"] if ok else None)
        peaks = " / ".join(_mib(tools.get(t, {}).get("peak_rss"))
                           for t in ("radiome", "flash", "pyradiomics"))
        goal = "–"
        if r["case"] == "lung2" and ours.get("status") == "ok":
            met = (ours["cpu_s"] <= 1.5 and ours["peak_rss"] < 500 * _MIB
                   and (ratios[0] or 0) >= 10 and (ratios[1] or 0) >= 200)
            goal = "yes" if met else "**no**"
        n_voxels = ours.get("n_voxels", "–")
        lines.append(f"| {r['case']} | {r['radius']} | {n_voxels:,} | {' | '.join(cells)} | "
                     + " | ".join("–" if x is None else f"{x:.0f}×" for x in ratios)
                     + f" | {peaks} | {goal} |")
    lines += ["", "Agreement with radiome's maps, per feature: the largest relative difference "
              "|a − b| / max(|a|, |b|) over the ROI voxels where both tools define the value "
              "(and |a| or |b| > 1e-6); a feature agrees when |a − b| ≤ 1e-6 · max(|a|, |b|) + "
              "1e-10 at every such voxel (**bold**: a same-definition feature that does not); "
              "in brackets, the voxels where only one tool defines it. radiome bins from "
              "floor(min / 25) · 25 as the others do, so all three see the same grey levels.",
              ""]
    notes: dict[str, str] = {}
    for r in rows:
        agreement = r.get("agreement", {})
        peers = [p for p in ("pyradiomics", "flash") if p in agreement]
        if not peers:
            continue
        names = {"pyradiomics": "PyRadiomics", "flash": "flash-radiomics"}
        lines += [f"### {r['case']}, r = {r['radius']}", "",
                  "| PyRadiomics name | radiome | kind | "
                  + " | ".join(f"vs {names[p]}" for p in peers) + " |",
                  "| --- | --- | --- |" + " --- |" * len(peers)]
        for k, pair in enumerate(agreement[peers[0]]):
            if pair["note"]:
                notes[pair["pyradiomics"]] = pair["note"]
            cells = []
            for p in peers:
                row = agreement[p][k]
                if not row.get("compared"):
                    cells.append("missing" if row.get("missing") else "–")
                    continue
                rel = f"{row['max_rel']:.1e}"
                cells.append((rel if row["agree"] or row["kind"] != "same" else f"**{rel}**")
                             + (f" ({row['only_one_defined']})" if row["only_one_defined"]
                                else ""))
            lines.append(f"| {pair['pyradiomics']} | {pair['radiome'] or '–'} | {pair['kind']} "
                         f"| {' | '.join(cells)} |")
        same = [(p, row) for p in peers for row in agreement[p] if row["kind"] == "same"]
        lines += ["", "Same-definition maps agreeing: " + ", ".join(
            f"{names[p]} {sum(row['agree'] for q, row in same if q == p)}/"
            f"{sum(q == p for q, _ in same)}" for p in peers) + ".", ""]
    if notes:
        lines += ["Definition differences:", ""]
        lines += [f"- {name}: {note}" for name, note in notes.items()]
        lines.append("")
    return lines


def _value(v: float | None) -> str:
    return "–" if v is None else f"{v:.10g}"


def _agreement(results: dict) -> list[str]:
    agreement = results.get("agreement", [])
    if not agreement:
        return []
    lines = ["## Agreement with PyRadiomics", "",
             "Original image, PyRadiomics' settings above; radiome runs `original.yaml` with a "
             "re-segmentation minimum of floor(min / 25) · 25 per case, which reproduces "
             "PyRadiomics' bin edges and removes no voxel, so both see the same grey levels. "
             "MIRP runs its full set with the same bin edges as a second IBSI implementation. "
             f"Agreement: |a − b| ≤ {RELATIVE_TOLERANCE:g} · max(|a|, |b|).", "",
             "| case | same definition | after conversion | known differences | radiome = MIRP |",
             "| --- | --- | --- | --- | --- |"]
    for a in agreement:
        if a["status"] != "ok":
            lines.append(f"| {a['case']} | failed: {a['error']} | | | |")
            continue
        c = a["counts"]
        mirp = (f"{c['mirp']['agree']}/{c['mirp']['compared']}" if not c["mirp"]["error"]
                else f"failed: {c['mirp']['error']}")
        lines.append(f"| {a['case']} | {c['same']['agree']}/{c['same']['compared']} | "
                     f"{c['converted']['agree']}/{c['converted']['compared']} | "
                     f"{c['differs']['agree']}/{c['differs']['compared']} agree | {mirp} |")
    lines += ["", "Every pair that does not agree, with the three tools' values:", "",
              "| case | PyRadiomics | radiome | kind | PyRadiomics value | radiome value "
              "| MIRP value | rel. diff. to PyRadiomics |", "| --- | --- | --- | --- | --- | --- "
              "| --- | --- |"]
    for a in agreement:
        for row in a.get("rows", []):
            if row["agree"] and row["agree_mirp"] is not False:
                continue
            rel = "missing" if row["relative"] is None else f"{row['relative']:.2e}"
            lines.append(f"| {a['case']} | {row['pyradiomics']} | {row['radiome']} "
                         f"{row['aggregation']} | {row['kind']} | "
                         f"{_value(row['pyradiomics_value'])} | {_value(row['radiome_value'])} | "
                         f"{_value(row['mirp_value'])} | {rel} |")
    lines += ["", "### Mapping of shared features", "",
              "| PyRadiomics | radiome | aggregation | kind |", "| --- | --- | --- | --- |"]
    lines += [f"| {p.pyradiomics} | {p.radiome} | {p.aggregation} | {p.kind} |" for p in PAIRS]
    lines += ["", "PyRadiomics features without an IBSI counterpart: "
              + "; ".join(f"{k} ({v})" for k, v in UNMATCHED.items()) + ".", ""]
    return lines


def _differences(notes: list[str]) -> list[str]:
    return ["## Known definition differences (IBSI vs PyRadiomics)", "",
            *[f"- {n}" for n in notes], ""]


def _scaling(results: dict) -> list[str]:
    series = results.get("scaling", [])
    if not series:
        return []
    lines = ["## Scaling with ROI size", "",
             "`radiome.synthetic.textured_sphere(n)`: a sphere of about n voxels (1 mm) with a "
             "textured interior in soft tissue; each size in a fresh process after a warm-up "
             "on a 10³-voxel sphere; median of the repeats. Peak RSS is that of the timed "
             "extractions (tracking restarted after loading); extra memory = that peak − RSS "
             "after loading the arrays, also per voxel of the ROI's bounding box (the float64 "
             "image is 8 B per voxel).", ""]
    for s in series:
        lines += [f"### {s['spec']} ({s['repeats']} repeats)", "",
                  "| ROI voxels | bounding box | median time | µs per voxel | peak RSS | "
                  "extra memory | extra B per bbox voxel |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for p in s["points"]:
            if "error" in p:
                lines.append(f"| ~{p['n_target']:,} | failed: {p['error']} | | | | | |")
                continue
            lines.append(f"| {p['n_voxels']:,} | {p['bbox_voxels']:,} | {_secs(p['median_s'])} | "
                         f"{1e6 * p['median_s'] / p['n_voxels']:.2f} | {_mib(p['peak_rss'])} | "
                         f"{_mib(p['extra_rss'])} | {p['extra_bytes_per_bbox_voxel']:.0f} |")
        if "time_exponent" in s:
            lines += ["", f"Fitted exponent of time ~ n^b over all sizes: b = "
                      f"{s['time_exponent']:.3f}"
                      + (f"; over 10⁵ voxels and up: {s['time_exponent_from_1e5']:.3f}"
                         if "time_exponent_from_1e5" in s else "")
                      + f". Extra memory ~ n^{s['memory_exponent']:.3f}."]
        lines.append("")
    return lines


def _throughput(results: dict) -> list[str]:
    t = results.get("throughput")
    if not t:
        return []
    lines = ["## Cohort throughput (issue 6)", "",
             f"{t['n_cases']} synthetic CT cases (`radiome.synthetic.write_cohort`), "
             f"`radiome.cohort.run_batch` with the {t['spec']} into a fresh SQLite store. "
             "Cases per minute over the wall time (Dask start-up and storing included), and "
             "steady: between the first and the last finished case.", "",
             "| workers | cases | failed | wall time | first case after | cases/min (wall) | "
             "cases/min (steady) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in t["runs"]:
        steady = run.get("steady_cases_per_min")
        lines.append(f"| {run['workers']} | {run['done']} | {run['failed']} | "
                     f"{_secs(run['seconds'])} | {_secs(run.get('first_case_s'))} | "
                     f"{run['cases_per_min']:.1f} | "
                     f"{'–' if steady is None else f'{steady:.1f}'} |")
    if "ratio" in t:
        steady = (f", steady {t['steady_ratio']:.2f}" if "steady_ratio" in t else "")
        lines += ["", f"Ratio 2 workers / 1 worker: **{t['ratio']:.2f}** (wall){steady}."]
    return [*lines, ""]


def render(results: dict, differences: list[str]) -> str:
    """The whole results.md text."""
    parts = [_header(results), _process(results)]
    if results.get("speed"):
        parts += [_speed(results), _criteria(results), _overheads(results)]
    if results.get("pictologics"):
        parts.append(render_pictologics(results["pictologics"]))
    parts += [_agreement(results), _differences(differences), _scaling(results),
              _throughput(results), _maps(results)]
    if results.get("errors"):
        parts.append(["## Errors", "", *[f"- {e}" for e in results["errors"]], ""])
    return "\n".join(line for part in parts for line in part).rstrip() + "\n"
