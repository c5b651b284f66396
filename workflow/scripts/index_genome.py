"""Rule index_genome: link the user's FASTA under resources/genome/ and index the link there (pyfaidx), so that
the workflow never writes beside the user's file (a read-only data folder works)."""

from basset.logs import setup_logging
from basset.sequence import link_and_index


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    sizes = link_and_index(snakemake.input.fasta, snakemake.output.fasta, snakemake.output.fai)
    log.info("indexed %s (%d sequences, %d bp) as %s", snakemake.input.fasta, len(sizes), sum(sizes.values()),
             snakemake.output.fasta)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
