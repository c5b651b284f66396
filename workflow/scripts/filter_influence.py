"""Rule filter_influence: influence of each first-layer filter by nullification (Figure 3C) on one split.

Writes a TSV (filter, delta_loss, influence_mean, then one column per target) and the clustered
filter x cell-type heat map.
"""

import logging
import time

import torch

from basset.dataset import dataset_info, load_split
from basset.influence import filter_influence, sample_rows, write_influence_table
from basset.logs import setup_logging
from basset.models import load_model
from basset.plots.motifs import fig3c


def main(snakemake):
    setup_logging(snakemake.log[0])
    log = logging.getLogger("basset.influence")
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    params = snakemake.params
    split = params.get("split", "test")
    model, _meta = load_model(snakemake.input.model, map_location=device)
    codes, targets = load_split(snakemake.input.h5, split)
    max_sequences = params.get("max_sequences")
    if max_sequences and codes.shape[0] > int(max_sequences):
        keep = sample_rows(codes.shape[0], int(max_sequences), int(params.get("seed", 1)))
        codes, targets = codes[keep], targets[keep]
    start = time.perf_counter()
    delta_loss, delta_pred, _means = filter_influence(
        model, codes, targets, batch_size=int(params.get("batch_size", 256)), device=device)
    log.info("influence of %d filters on %d %s sequences in %.1f s",
             len(delta_loss), codes.shape[0], split, time.perf_counter() - start)
    names = dataset_info(snakemake.input.h5)["target_names"]
    write_influence_table(snakemake.output.table, delta_loss, delta_pred, names)
    fig3c(delta_pred, names, snakemake.output.fig3c, top_k=params.get("top_k", 50))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
