"""Rule filter_motifs: PWMs of the first-layer filters from their activating windows (Basset's recipe),
written as a MEME file, a TSV (filter, nsites, ic, consensus) and one figure of all logos (PNG + PDF).
"""

import torch

from basset.dataset import load_split
from basset.logs import setup_logging
from basset.memefile import write_meme
from basset.models import load_model
from basset.motifs import background_from_gc, filter_pwms, filter_table
from basset.plots.logos import write_filter_logos
from basset.tables import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    cfg = dict(snakemake.params.motifs or {})
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    background = background_from_gc(float(cfg.get("background_gc", 0.415)))
    model, _meta = load_model(snakemake.input.model, map_location=device)
    codes, _targets = load_split(snakemake.input.h5, cfg.get("split", "test"))
    result = filter_pwms(model, codes, batch_size=int(cfg.get("batch_size", 256)), device=device,
                         threshold=float(cfg.get("threshold", 0.5)), min_sites=int(cfg.get("min_sites", 10)),
                         background=background)
    motifs = result.motifs()
    log.info("%d of %d filters have a PWM (>= %s sites)", len(motifs), len(result.pwms), cfg.get("min_sites", 10))
    write_meme(snakemake.output.meme, motifs, background=background)
    table = filter_table(result)
    write_table(snakemake.output.table, table)
    titles = [f"{f} n={n} ic={ic:.1f}" for f, n, ic in zip(table["filter"], table["nsites"], table["ic"])]
    write_filter_logos(result.pwms, list(table["filter"]), snakemake.output.logos, titles=titles)
    log.info("wrote %s, %s, %s", snakemake.output.meme, snakemake.output.table, snakemake.output.logos)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
