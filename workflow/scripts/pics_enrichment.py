"""Rule pics_enrichment: do likely-causal GWAS SNPs (high PICS) change predicted accessibility more than unlikely
ones (Figure 5A)? And the mutagenesis maps around the top likely-causal SNP, reference and alternative (5B)."""

import torch

from basset.logs import setup_logging
from basset.models import load_model
from basset.plots.variants import fig5a, fig_satmut
from basset.tables import write_summary, write_table
from basset.variants import join_pics, pics_enrichment, read_pics, read_sad, top_snp_maps


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.variants)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    pics_path = snakemake.input.pics if isinstance(snakemake.input.pics, str) else snakemake.input.pics[0]
    sad, pics = read_sad(snakemake.input.sad), read_pics(pics_path)
    summary = pics_enrichment(sad, pics, high=float(cfg["high_pics"]), low=float(cfg["low_pics"]),
                              sad_threshold=float(cfg["sad_threshold"]), score=cfg["score"])
    write_table(snakemake.output.snps, join_pics(sad, pics, cfg["score"]), float_format="%.6g")
    fig5a(summary, snakemake.output.fig5a, threshold=float(cfg["sad_threshold"]))
    model, meta = load_model(snakemake.input.model)
    ref, alt, title = top_snp_maps(model, snakemake.input.fasta, sad, pics, meta["target_names"],
                                   high=float(cfg["high_pics"]), window=int(cfg["plot_window"]),
                                   rc_average=bool(cfg["rc_average"]))
    fig_satmut([ref, alt], snakemake.output.fig5b, title=title)
    log.info("Figure 5B: %s", title)
    write_summary(snakemake.output.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
