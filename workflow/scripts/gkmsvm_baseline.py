"""Rule gkmsvm_baseline: see basset.stages.evaluate.gkmsvm_baseline."""
from basset.stages import run_rule
from basset.stages.evaluate import gkmsvm_baseline


def main(snakemake):
    run_rule(snakemake, gkmsvm_baseline)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
