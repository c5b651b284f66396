"""Rule hold_out_targets: choose the held-out cell types (config list, or K spanning the full model's AUROC
range) and write the dataset restricted to the other (public) cell types for pre-training."""

from basset.dataset import dataset_info
from basset.logs import setup_logging
from basset.transfer import read_full_aurocs, resolve_holdout, subset_targets, write_holdout


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.transfer)
    aurocs = read_full_aurocs(snakemake.input.metrics)
    holdout = resolve_holdout(aurocs, cfg.get("holdout") or [], int(cfg.get("k", 6)), snakemake.input.metrics)
    log.info("held out: %s", ", ".join(holdout))
    write_holdout(snakemake.output.holdout, holdout, aurocs)
    public = [t for t in dataset_info(snakemake.input.h5)["target_names"] if t not in holdout]
    subset_targets(snakemake.input.h5, snakemake.output.public, public)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
