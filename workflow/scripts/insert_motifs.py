"""Rule insert_motifs: mean change in predicted accessibility per cell type when each motif's consensus is
inserted at the centre of background sequences drawn (with the seed) from the test split.

``params.motifs``: JASPAR names, matrix IDs or consensus strings (or a dict name -> one of these); when empty,
the planted factors of the simulation (``input.truth``: name -> matrix ID).
"""

import json

import torch

from basset.dataset import dataset_info, load_split
from basset.influence import insertion_table, resolve_motifs, sample_background
from basset.logs import setup_logging
from basset.models import load_model
from basset.plots.motifs import fig_insertion
from basset.tables import write_table


def main(snakemake):
    setup_logging(snakemake.log[0])
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    params = snakemake.params
    model, _meta = load_model(snakemake.input.model, map_location=device)
    codes, _targets = load_split(snakemake.input.h5, params.get("split", "test"))
    background = sample_background(codes, int(params.get("n_background", 200)), int(params.get("seed", 1)))
    release = params.get("release", "JASPAR2026")
    truth = list(snakemake.input.get("truth", []))  # one file when the data are simulated, else none
    # a list or {name: JASPAR ID} (basset.config.PAPER_INSERT_MOTIFS on real data); empty: the planted factors
    specs = params.motifs or json.loads(open(truth[0]).read())["factors"]
    motifs = resolve_motifs(specs, release=release)
    table = insertion_table(model, background, motifs, dataset_info(snakemake.input.h5)["target_names"],
                            batch_size=int(params.get("batch_size", 256)), device=device)
    write_table(snakemake.output.table, table, index=True, float_format="%.6g")
    fig_insertion(table, snakemake.output.figure)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
