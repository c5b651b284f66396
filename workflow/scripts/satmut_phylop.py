"""Rule satmut_phylop: ridge regression of phyloP on the loss, the gain and both scores of every scored
nucleotide, fitted on 80 % and tested on 20 % (Pearson r, p); Figures 4B-D."""

from basset.conservation import ridge_phylop
from basset.logs import setup_logging
from basset.mutagenesis import read_scan
from basset.plots.variants import fig4bcd
from basset.tables import write_table


def main(snakemake):
    setup_logging(snakemake.log[0])
    scan = read_scan(snakemake.input.scores)
    if scan.get("phylop") is None:
        raise ValueError(f"{snakemake.input.scores}: no phyloP values (set genome.phylop in the config)")
    T = scan["loss"].shape[-1]
    table, preds = ridge_phylop(scan["loss"].reshape(-1, T), scan["gain"].reshape(-1, T), scan["phylop"].ravel(),
                                seed=snakemake.params.seed)
    write_table(snakemake.output.table, table, float_format="%.6g")
    fig4bcd(preds, table, snakemake.output.fig4bcd)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
