"""Rule transfer_learning: one pass per held-out cell type from the pre-trained network with a new head
(and, optionally, from scratch), test AUROC against the full model's, Figure 6."""

import torch

from basset.logs import setup_logging
from basset.transfer import read_holdout, run_transfer


def main(snakemake):
    setup_logging(snakemake.log[0])
    torch.set_num_threads(max(1, int(snakemake.threads)))
    cfg = dict(snakemake.params.transfer)
    options = dict(snakemake.params.train)
    if cfg.get("lr") is not None:
        options["lr"] = cfg["lr"]
    device = "cuda" if options.get("device", "auto") != "cpu" and torch.cuda.is_available() else "cpu"
    run_transfer(
        snakemake.input.h5,
        snakemake.input.pretrained,
        snakemake.input.metrics,
        read_holdout(snakemake.input.holdout),
        out={key: snakemake.output[key] for key in ("table", "summary", "fig6")},
        options=options,
        passes=int(cfg.get("passes", 1)),
        scratch=bool(cfg.get("scratch", True)),
        tolerance=float(cfg.get("tolerance", 0.03)),
        seed=snakemake.params.seed,
        device=device,
        rc_average=bool(dict(snakemake.params.evaluate).get("rc_average", True)),
        pretrain_history=snakemake.input.history,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
