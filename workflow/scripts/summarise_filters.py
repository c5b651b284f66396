"""Rule summarise_filters: the table of all filters (IC, sites, influence, best match, q), Figure 3A
(information vs influence, coloured by annotation), Figure 3B (top filters beside their best match) and, on
simulated data, which planted factors some filter recovered."""

import json

import pandas as pd

from basset.logs import setup_logging
from basset.memefile import read_meme
from basset.motifs import factor_recovery, filter_summary, read_tomtom_table, similar_matrices
from basset.plots.motifs import fig3a, fig3b
from basset.tables import write_summary, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    inp, out = snakemake.input, snakemake.output
    hits = read_tomtom_table(inp.tomtom)
    table = filter_summary(pd.read_csv(inp.filters, sep="\t"), pd.read_csv(inp.influence, sep="\t"), hits)
    write_table(out.table, table, float_format="%.6g")
    fig3a(table["ic"], table["influence_mean"], out.fig3a, annotated=table["annotated"],
          labels=[f"{f} {n}" if isinstance(n, str) else f for f, n in zip(table["filter"], table["best_name"])])
    filter_pwms = {m.id: m.pwm for m in read_meme(inp.filters_meme)}
    database = {m.id: m for m in read_meme(inp.database_meme)}
    top = table[table["annotated"]].head(snakemake.params.n_logos)
    matches = [database[i].pwm[::-1, ::-1] if o == "-" else database[i].pwm
               for i, o in zip(top["best_id"], top["orientation"])]
    fig3b([filter_pwms[f] for f in top["filter"]], matches, list(top["filter"]),
          [f"{n} ({i}, q={q:.1g})" for n, i, q in zip(top["best_name"], top["best_id"], top["best_q"])], out.fig3b)
    summary = {"filters": len(table), "annotated": int(table["annotated"].sum()), "engine": hits["engine"].iloc[0]
               if len(hits) else "", "distance": hits["distance"].iloc[0] if len(hits) else ""}
    truth = list(inp.get("truth", []))  # one file when the data are simulated, else none
    if truth:
        factors = json.loads(open(truth[0]).read())["factors"]
        # a shared JASPAR family counts only for a target that Tomtom also matches to the factor's own matrix
        similar = similar_matrices(factors, list(database.values()), engine=snakemake.params.engine,
                                   thresh=float(snakemake.params.thresh), dist=snakemake.params.distance)
        recovery = factor_recovery(hits, factors, pd.read_csv(inp.database_table, sep="\t"), similar=similar)
        write_table(out.recovery, recovery)
        summary["planted_factors"] = len(recovery)
        summary["planted_factors_recovered"] = int(recovery["recovered"].sum())
        summary["fraction_recovered"] = float(recovery["recovered"].mean())
        log.info("%d of %d planted factors recovered by some filter (by name, or by a look-alike of the same "
                 "JASPAR family)",
                 summary["planted_factors_recovered"], len(recovery))
    write_summary(out.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
