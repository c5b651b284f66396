"""Rule filter_influence: influence of each first-layer filter by nullification (Figure 3C)."""
from basset.stages import run_rule
from basset.stages.motifs import filter_influence


def main(snakemake):
    run_rule(snakemake, filter_influence)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
