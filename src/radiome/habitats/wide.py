"""Habitats in the wide view of a feature table: columns of their ROI's row, not rows."""

from __future__ import annotations

import pandas as pd

__all__ = ["habitats_as_columns"]


def habitats_as_columns(wide: pd.DataFrame, *, index: list[str]) -> pd.DataFrame:
    """A wide table with each ROI's habitats as columns of the ROI's row.

    Rows of habitat ROIs (``<roi>#h<k>``, one row per case and ROI as
    :func:`radiome.table.to_wide` makes them) leave the table: their feature columns join the
    row of ``<roi>`` with the same case and spec, named ``<column>#h<k>`` (``stat_mean#h2``,
    ``hab_fraction#h2``), so a model sees one row per case. A column empty for every row of a
    habitat (or of the plain ROIs) is left out. The row keeps the plain ROI's other ``index``
    columns (provenance); an ROI stored only through its habitats takes those of its first
    habitat.

    Parameters
    ----------
    wide : DataFrame
        Columns ``index`` (among them ``case_id``, ``roi``, ``spec_hash``), then features.
    index : list of str
        The identifier and provenance columns.

    Returns
    -------
    DataFrame
        ``index`` columns, then the plain ROIs' feature columns, then each habitat's.
    """
    part = wide["roi"].astype(str).str.extract(r"^(.*)#(h\d+)$")
    habitat = part[0].notna().to_numpy()
    if not habitat.any():
        return wide
    keys = ["case_id", "roi", "spec_hash"]
    others = [c for c in index if c not in keys]
    features = [c for c in wide.columns if c not in index]
    plain = wide.loc[~habitat].set_index(keys)
    plain = plain[others + [c for c in features if plain[c].notna().any()]]
    parts = wide.loc[habitat].assign(roi=part.loc[habitat, 0], _tag=part.loc[habitat, 1])
    order = parts["_tag"].str[1:].astype(int)
    blocks, first = [], parts.loc[order.sort_values(kind="stable").index].drop_duplicates(keys)
    for tag in sorted(parts["_tag"].unique(), key=lambda t: int(t[1:])):
        block = parts[parts["_tag"] == tag].set_index(keys)[features]
        block = block.loc[:, block.notna().any()]
        blocks.append(block.add_suffix(f"#{tag}"))
    joined = plain.join(blocks, how="outer") if blocks else plain
    missing = first.set_index(keys)[others].reindex(joined.index)
    joined[others] = joined[others].where(joined[others].notna(), missing)
    return joined.reset_index()[[*keys, *others, *joined.columns.difference(
        [*keys, *others], sort=False)]]
