"""Rule select_pics_variants: the records of the PICS SNPs (which have no alleles) from a large sites VCF
(dbSNP, 1000 Genomes; a URL or a local file, streamed, never stored whole), written as a gzipped VCF for
score_snps. A `summary` output, when the rule names one, gets the counts (records read and kept, PICS SNPs
found and not found)."""

from basset.logs import setup_logging
from basset.tables import write_summary
from basset.variants import read_pics, select_vcf_records


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    pics = read_pics(snakemake.input.pics)
    summary = select_vcf_records(snakemake.params.source, snakemake.output.vcf, pics, progress=False)
    log.info("%s", summary)
    if snakemake.output.get("summary"):
        write_summary(snakemake.output.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
