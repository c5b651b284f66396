"""Rule tomtom_filters: compare the filter PWMs with a motif database (Tomtom: MEME's binary when on PATH,
otherwise basset's re-implementation, with the configured column distance). ``database`` is a MEME file, or ``jaspar`` to export JASPAR CORE vertebrates first.
"""

import shutil
from pathlib import Path

from basset.logs import setup_logging
from basset.memefile import read_meme
from basset.motifs import jaspar_meme, motif_table, tomtom
from basset.tables import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    params = snakemake.params
    database = snakemake.input.get("database") or params.get("database", "jaspar")
    out_db = Path(snakemake.output.database_meme)
    if str(database).lower() == "jaspar":
        targets = jaspar_meme(out_db, release=params.get("release", "JASPAR2026"))
    else:
        shutil.copyfile(database, out_db)
        targets = read_meme(out_db)
        write_table(snakemake.output.database_table, motif_table(targets))
    queries = read_meme(snakemake.input.filters)
    hits = tomtom(queries, targets, engine=params.get("engine", "auto"), thresh=float(params.get("thresh", 0.1)),
                  dist=params.get("distance", "pearson"))
    write_table(snakemake.output.tsv, hits)
    log.info("%d of %d filters match %d database motifs at q < %s (engine %s)", hits["filter"].nunique(),
             len(queries), hits["target_id"].nunique(), params.get("thresh", 0.1),
             hits["engine"].iloc[0] if len(hits) else params.get("engine", "auto"))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
