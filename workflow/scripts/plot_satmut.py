"""Rule plot_satmut: Figure 4A, mutagenesis maps of the sites most strongly predicted accessible in one cell
type (configured, or the one with the largest mean loss score)."""

import torch

from basset.logs import setup_logging
from basset.models import load_model
from basset.mutagenesis import plot_sites
from basset.tables import write_table


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.satmut)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    model, meta = load_model(snakemake.input.model)
    table = plot_sites(model, snakemake.input.h5, snakemake.input.scores, snakemake.output.fig4a,
                       target_names=meta["target_names"], target=cfg.get("plot_target"),
                       n_sites=int(cfg["plot_sites"]), window=int(cfg["plot_window"]),
                       rc_average=bool(cfg["rc_average"]))
    write_table(snakemake.output.table, table, float_format="%.6g")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
