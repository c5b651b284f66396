"""Rule score_snps: SNP accessibility difference (SAD = p(alt) - p(ref), per cell type) of every VCF record,
streamed in chunks; counts of swapped, skipped and split records in the summary."""

import torch

from basset.logs import setup_logging
from basset.models import load_model
from basset.tables import write_summary
from basset.variants import score_variants


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.variants)
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, meta = load_model(snakemake.input.model, map_location=device)
    vcf = snakemake.input.vcf if isinstance(snakemake.input.vcf, str) else snakemake.input.vcf[0]
    summary = score_variants(model, snakemake.input.fasta, vcf, snakemake.output.sad,
                             target_names=meta["target_names"], batch_size=int(cfg["batch_size"]), device=device,
                             rc_average=bool(cfg["rc_average"]), weights=cfg.get("weights") or None,
                             chunk_size=int(cfg["chunk_size"]))
    write_summary(snakemake.output.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
