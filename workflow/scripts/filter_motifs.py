"""Rule filter_motifs: PWMs of the first-layer filters from their activating windows, as MEME, TSV and logos."""
from basset.stages import run_rule
from basset.stages.motifs import filter_motifs


def main(snakemake):
    run_rule(snakemake, filter_motifs)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
