"""Rule hold_out_targets: choose the held-out cell types and write the dataset of the others (public)."""
from basset.stages import run_rule
from basset.stages.transfer import hold_out_targets


def main(snakemake):
    run_rule(snakemake, hold_out_targets)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
