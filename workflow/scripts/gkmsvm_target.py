"""Rule gkmsvm_target: see basset.stages.evaluate.gkmsvm_target."""
from basset.stages import run_rule
from basset.stages.evaluate import gkmsvm_target


def main(snakemake):
    run_rule(snakemake, gkmsvm_target)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
