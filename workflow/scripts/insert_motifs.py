"""Rule insert_motifs: mean change in predicted accessibility when motifs are inserted into background sequences."""
from basset.stages import run_rule
from basset.stages.motifs import insert_motifs


def main(snakemake):
    run_rule(snakemake, insert_motifs)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
