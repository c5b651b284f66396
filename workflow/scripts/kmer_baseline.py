"""Rule kmer_baseline: fit the k-mer baseline (one logistic regression per target on k-mer counts) on the
train split and score the test split.

Outputs: ``predictions`` (gzipped TSV: ``site_index`` then one probability column per target, test rows in
file order) and ``metrics`` (TSV: target, auroc, auprc, n_pos, n_neg).
"""

from basset.evaluate import run_kmer_baseline
from basset.logs import setup_logging


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.kmer)
    run_kmer_baseline(
        snakemake.input.h5,
        snakemake.output.predictions,
        snakemake.output.metrics,
        k=int(cfg.get("k", 6)),
        gap=cfg.get("gap", 0),
        C=float(cfg.get("C", 1.0)),
        max_train=cfg.get("max_train", 20000),
        norm=cfg.get("norm", "l2"),
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
