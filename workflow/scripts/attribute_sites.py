"""Rule attribute_sites: see basset.stages.attribution.attribute_sites."""
from basset.stages import run_rule
from basset.stages.attribution import attribute_sites


def main(snakemake):
    run_rule(snakemake, attribute_sites)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
