"""Rule evaluate_model: test-set AUROC/AUPRC of the CNN, comparison with the k-mer baseline, AUROC by
site class, and Figure 2 (A: clustered test targets, B: CNN vs k-mer AUROC, C: ROC curves, site classes).
"""

import torch

from basset.evaluate import evaluate_model
from basset.logs import setup_logging
from basset.models import load_model


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.evaluate)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, _meta = load_model(snakemake.input.model, map_location=device)
    genes = snakemake.input.get("genes") or None  # an empty list when the config has no annotation
    evaluate_model(
        model,
        snakemake.input.h5,
        out={key: snakemake.output[key] for key in
             ("metrics", "by_class", "summary", "fig2a", "fig2b", "fig2c", "fig_classes")},
        kmer_metrics=snakemake.input.kmer_metrics,
        sites=snakemake.input.sites,
        genes=genes if isinstance(genes, str) else (genes[0] if genes else None),
        rc_average=bool(cfg.get("rc_average", True)),
        batch_size=int(cfg.get("batch_size", 256)),
        heatmap_sites=int(cfg.get("heatmap_sites", 2000)),
        device=device,
        seed=snakemake.params.seed,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
