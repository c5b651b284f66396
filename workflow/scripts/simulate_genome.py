"""Rule simulate_genome: write the simulated genome, peaks, genes, conservation, variants and truth."""
from basset.logs import setup_logging
from basset.samples import read_sample_sheet
from basset.simulate import simulate


def main(snakemake):
    setup_logging(snakemake.log[0])
    params = {k: v for k, v in snakemake.params.simulate.items() if k not in ("enabled", "outdir")}
    simulate(snakemake.params.outdir, read_sample_sheet(snakemake.input.samples), params, seed=snakemake.params.seed, progress=False)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
