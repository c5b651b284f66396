"""Rule modisco_lineage: see basset.stages.attribution.modisco_lineage."""
from basset.stages import run_rule
from basset.stages.attribution import modisco_lineage


def main(snakemake):
    run_rule(snakemake, modisco_lineage)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
