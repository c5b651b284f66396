"""Build the samtools-style FASTA index (.fai) of the genome with pyfaidx."""

from pyfaidx import Faidx

from basset.logs import setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    # pyfaidx writes <fasta>.fai next to the FASTA, which is this rule's output
    Faidx(snakemake.input.fasta, indexname=snakemake.output.fai, rebuild=True).close()
    log.info("indexed %s -> %s", snakemake.input.fasta, snakemake.output.fai)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
