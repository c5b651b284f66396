"""Rule saturation_mutagenesis: loss and gain scores (per cell type) of every nucleotide of the central window
of the test sites, with phyloP over the same nucleotides, in one HDF5 file (basset.mutagenesis.scan_sites)."""

import torch

from basset.logs import setup_logging
from basset.models import load_model
from basset.mutagenesis import scan_sites
from basset.tables import write_summary


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.satmut)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, meta = load_model(snakemake.input.model, map_location=device)
    phylop = snakemake.input.get("phylop") or None
    summary = scan_sites(model, snakemake.input.h5, snakemake.input.sites, snakemake.output.scores,
                         target_names=meta["target_names"], split=cfg["split"], window=int(cfg["window"]),
                         max_sites=cfg.get("max_sites"), seed=snakemake.params.seed,
                         phylop=phylop if isinstance(phylop, str) else (phylop[0] if phylop else None),
                         rc_average=bool(cfg["rc_average"]), batch_size=int(cfg["batch_size"]), device=device)
    write_summary(snakemake.output.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
