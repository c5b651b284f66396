"""Rule simulate_genome: write the simulated genome, peaks, genes, conservation, variants and truth."""
from basset.stages import run_rule
from basset.stages.simulate import simulate_genome


def main(snakemake):
    run_rule(snakemake, simulate_genome)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
