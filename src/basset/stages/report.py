"""Stage report: the run's report, one self-contained HTML page laid out like the paper (Figures 2-6), each figure
with a caption written from the run's own numbers (:mod:`.report_text`), and a table of headline numbers, each
traced to the stage table it comes from (:mod:`.report_numbers`; also written to the headline TSV). Where the
run is the paper's configuration (its 164 targets) the published model's per-target AUROCs stand beside ours; on
simulated data the simulation's truth grades the analyses (planted motifs recovered, motif insertion against
planted activity, causal SNPs ranked by SAD).

A stage the config left out is listed with its reason and the config key that brings it back, at the top and in
its section; a panel that was not drawn (or, as the site classes without genes, drawn empty) is replaced by a
note saying what is missing and which key brings it.

The report reads the files of :data:`basset.layout.REPORT_INPUTS` (``(stage, key)`` of ``STAGES``), each
passed as the keyword ``<stage>_<key>``; :func:`report_inputs` finds them under a results folder.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import layout
from ..fidelity import fidelity_table
from ..fileio import atomic_open
from ..layout import REPORT_INPUTS, input_name
from ..metrics import SITE_CLASSES
from ..tables import write_table
from .report_html import (
    escape,
    fidelity_html,
    figure_html,
    headline_table,
    missing_panel_html,
    render_html,
    skipped_html,
    skipped_list_html,
    table_html,
    value_repr,
)
from .report_numbers import (
    Headline,
    RunFiles,
    headline_numbers,
    read_table,
    run_paper_comparison,
    source_name,
    truth_snp_scores,
)
from .report_text import (
    COVERAGE_SECTIONS,
    FIGURE_6,
    KEY_HINTS,
    PANELS,
    SECTION_STAGES,
    SECTIONS,
    SHOWN_WHEN_DRAWN,
    Figure,
    captions,
    is_nan,
    panel_titles,
    place_skipped,
    section_titles,
)

log = logging.getLogger(__name__)

_INPUT_NAMES = {input_name(stage, key) for stage, key in REPORT_INPUTS}


def report_inputs(results_dir) -> dict:
    """``{<stage>_<key>: path}`` of :data:`REPORT_INPUTS` under a run's results folder (None where absent): the
    keyword arguments of :func:`make_report` for a finished (or partly finished) run."""
    paths = {input_name(stage, key): layout.path(results_dir, stage, key) for stage, key in REPORT_INPUTS}
    return {name: path if path.exists() else None for name, path in paths.items()}


@dataclass
class _Run:
    """What every section of the page needs to know about the run."""

    files: RunFiles
    folder: Path  # the results folder, as the page names it
    truth_dir: Path | None
    paper: pd.DataFrame | None  # per-target AUROC beside the published model's
    skips: list


def _truth_dir(truth) -> Path | None:
    """The simulation's truth folder from ``truth`` (its ``simulation.json``, or the folder), None without."""
    if not truth:
        return None
    truth = Path(truth)
    folder = truth if truth.is_dir() else truth.parent
    return folder if folder.exists() else None


def _figures(run: _Run, heads: dict, k) -> tuple[list[Figure], dict]:
    """The drawn panels (titled and captioned from the headline numbers ``heads``) and a placeholder (label ->
    html) for each panel the run did not draw."""
    caps, titles = captions(heads, k), panel_titles(heads, k)
    classes_measured = _site_classes_measured(run.files, heads)
    figs, placeholders = [], {}
    for label, section, file, title in PANELS + [FIGURE_6]:
        drawn = run.files.has(file)
        if label == FIGURE_6[0] or label in SHOWN_WHEN_DRAWN:
            if not drawn:
                continue
        elif not drawn:
            placeholders[label] = missing_panel_html(label, title, file, run.folder.name, run.skips)
            continue
        elif label == "2, site classes" and not classes_measured:
            placeholders[label] = missing_panel_html(label, title, file, run.folder.name, run.skips, drawn=True)
            continue
        figs.append(Figure(label, section, file, titles.get(label, title), caps.get(label, caps.get(label[:1], ""))))
    return figs, placeholders


def _site_classes_measured(files: RunFiles, h: dict) -> bool:
    """Whether the run measured AUROC by site class: the evaluation summary has a class mean (headlines ``h``)
    and the table of AUROC by class, where present, has rows of a class (without genes it is empty)."""
    if not any(f"{c}_mean_auroc" in h and not is_nan(h[f"{c}_mean_auroc"].value) for c in SITE_CLASSES):
        return False
    path = files.path("evaluate", "by_class")
    if path is None:
        return True
    if path.stat().st_size == 0:
        return False
    table = read_table(path)
    return "class" in table and bool(table["class"].isin(SITE_CLASSES).any())


def _section_extras(section: str, run: _Run) -> str:
    """Detail tables under a section's headline numbers (per-target comparison, planted factor recovery)."""
    parts, paper = [], run.paper
    if section == "Figure 2" and paper is not None:
        better, scored = int((paper["difference"] >= 0).sum()), int(paper["difference"].notna().sum())
        parts.append(f"<details><summary>Per-target AUROC beside the published model ({better} of {scored} "
                     f"scored targets at or above it)</summary>"
                     + table_html(paper[["target", "auroc", "paper_auroc", "difference"]], "paper-targets")
                     + "</details>")
    for sect, stage, best, what, table_id in (("Figure 3", "motifs", "best_filter", "filters", "recovery"),
                                               ("Figure 7", "attribution", "best_pattern", "TF-MoDISco patterns",
                                                "pattern-recovery")):
        if section == sect and run.files.has((stage, "recovery")):
            rec = read_table(run.files.path(stage, "recovery"))
            cols = [c for c in ("factor", "matrix_id", "recovered", best, "best_target", "best_q") if c in rec.columns]
            parts.append(f"<details><summary>Planted factors and the {what} that recover them (simulation truth)"
                         "</summary>" + table_html(rec[cols], table_id, "{:.3g}") + "</details>")
    if section == "Figure 7" and run.files.has(("attribution", "truth")):
        parts.append("<details><summary>Attribution at planted motif bases, per lineage (AUROC)</summary>"
                     + table_html(read_table(run.files.path("attribution", "truth")), "attribution-truth", "{:.4g}")
                     + "</details>")
    if section == "Figure 5" and run.truth_dir is not None and layout.truth_file(run.truth_dir, "snps").exists() \
            and run.files.has(("variants", "sad")):
        frame = truth_snp_scores(run.files.path("variants", "sad"), run.truth_dir, "max_abs_sad")
        frame["rank"] = frame["score"].rank(ascending=False, method="min").astype(int)
        by_role = frame.groupby("role").agg(snps=("id", "size"), median_max_abs_sad=("score", "median"),
                                            median_rank=("rank", "median")).reset_index()
        parts.append("<p>Truth: SNP ranks by max |SAD| (1 = strongest) per simulated role.</p>"
                     + table_html(by_role, "snp-roles", "{:.4g}"))
    return "\n".join(parts)


def _not_run_html(section: str, run: _Run, section_skips: list) -> list[str]:
    """A section without numbers or panels: which stage did not run, and how to run it."""
    stage, table, key = SECTION_STAGES[section]
    hint = f"; to run it, {KEY_HINTS[key]}" if key and not section_skips else ""
    note = (f'<p class="note missing">Not run: no outputs of {escape(stage)} in {escape(run.folder.name)}/ '
            f"(no {escape(source_name(*table))}){escape(hint)}.</p>")
    return [note] + [skipped_html(s) for s in section_skips]


def _section_html(section: str, run: _Run, rows: list[Headline], panels: list[Figure],
                  placeholders: dict) -> list[str]:
    """The parts of a section that has headline numbers or panels, below its title."""
    parts = [skipped_html(s) for s in run.skips if section in s.sections]
    if section == "Figure 2" and run.paper is not None:
        parts.append(f'<p class="note">This run\'s {len(run.paper)} targets are the paper\'s: the published '
                     'model\'s numbers stand beside ours.</p>')
    drawn = {f.label: figure_html(f, run.files.path(*f.file)) for f in panels}
    order = [label for label, s, _, _ in PANELS if s == section] + [f.label for f in panels]
    parts += [drawn.get(label) or placeholders.get(label, "") for label in dict.fromkeys(order)]
    if rows:
        parts.append(f"<h3>{escape(section)}: headline numbers</h3>")
        parts.append(headline_table(rows, with_paper=any(r.paper_value is not None for r in rows)))
    parts.append(_section_extras(section, run))
    return parts


def _sections(run: _Run, heads: list[Headline], k, coverage: bool = False) -> tuple[list[tuple], int, int]:
    """``(name, title, html)`` of each section (``coverage``: a Basenji-style run's, else the paper's figures); the
    numbers of panels drawn and of placeholders."""
    by_id = {h.id: h for h in heads}
    figs, placeholders = _figures(run, by_id, k)
    titles = section_titles(by_id, k)
    sections = []
    if coverage:  # Figure 5's PICS panels are not drawn in a coverage run: no placeholders for them
        placeholders = {}
    for section in SECTIONS:
        if coverage and section not in COVERAGE_SECTIONS or not coverage and section == "Coverage":
            continue
        rows = [h for h in heads if h.section == section]
        panels = [f for f in figs if f.section == section]
        section_skips = [s for s in run.skips if section in s.sections]
        if not rows and not panels:
            titles[section] = SECTIONS[section] + (": skipped" if section_skips else ": not run")
            parts = _not_run_html(section, run, section_skips)
        else:
            parts = _section_html(section, run, rows, panels, placeholders)
        parts = [f"<h2>{escape(section)}. {escape(titles[section])}</h2>"] + parts
        sections.append((section, titles[section], "\n".join(p for p in parts if p)))
    return sections, len(figs), len(placeholders)


def _meta(config: dict, run: _Run) -> tuple[str, list[str]]:
    """The run's name and the page's header lines (data, seed, when and from where)."""
    simulated = bool((config.get("simulate") or {}).get("enabled", run.truth_dir is not None))
    name = config.get("run", run.folder.name)
    data = ("simulated data, graded against the simulation's truth" if simulated and run.truth_dir
            else "simulated data" if simulated else "real data")
    return name, [f"Run {name}: {data}" + (f"; seed {config['seed']}" if "seed" in config else "") + ".",
                  f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from {run.folder}."]


def write_headlines(path, heads: list[Headline]) -> None:
    """The headline TSV: section, name, value (full precision), source_file, source_key, id, format,
    paper_value, paper_source."""
    frame = pd.DataFrame([asdict(h) for h in heads],
                         columns=[f.name for f in Headline.__dataclass_fields__.values()])
    frame["value"] = [value_repr(v) for v in frame["value"]]
    frame["paper_value"] = ["" if v is None else value_repr(v) for v in frame["paper_value"]]
    frame = frame[["section", "name", "value", "source_file", "source_key", "id", "format", "paper_value",
                   "paper_source"]]
    write_table(path, frame)


def make_report(*, out: dict, config: dict | None = None, truth=None, paper_aucs=None, paper_targets=None,
                skipped: dict | None = None, **inputs) -> dict:
    """Write the run's report to ``out["html"]`` and its headline numbers to ``out["headline"]``; returns
    ``{id: value}`` of the headline numbers.

    ``inputs``: the files of :data:`REPORT_INPUTS` as ``<stage>_<key>=path`` (``evaluate_summary=...``), None
    or left out where the run has none (:func:`report_inputs` gives them for a results folder); ``config``: the
    workflow config, of which the report reads ``run``, ``seed``, ``simulate.enabled`` and ``kmer.k``, and, when
    it is the whole config (with ``model`` and ``train``), every setting for the Methods section
    (:func:`basset.fidelity.fidelity_table`);
    ``truth``: the simulation's ``truth/simulation.json`` (``snps.tsv`` and ``cell_factor_activity.tsv`` lie
    beside it), None on real data; ``paper_aucs``: the published model's per-target test AUROCs
    (``basset_pretrained_test_aucs.txt``; ``paper_targets``: its target names, default ``basset_targets.txt``
    beside it); ``skipped``: ``{stage: reason}`` of the stages the config left out (``{"SAD (Figure 5)":
    "variants.vcf is null"}``), each shown with its reason and the key that brings it back, in a list at the
    top and in its sections (placed by :func:`.report_text.place_skipped`)."""
    unknown = sorted(set(inputs) - _INPUT_NAMES)
    if unknown:
        raise TypeError(f"make_report: unknown inputs {unknown} (known: <stage>_<key> of REPORT_INPUTS)")
    config, files, paper_aucs = config or {}, RunFiles(inputs), paper_aucs or None  # the config's "" or null: none
    out_html = Path(out["html"])
    run = _Run(files, files.root or out_html.parent.parent, _truth_dir(truth), None, place_skipped(skipped))
    run.paper = run_paper_comparison(files, paper_aucs, paper_targets)
    heads = headline_numbers(files, run.truth_dir, paper_aucs, paper_targets)
    coverage = (config.get("dataset") or {}).get("mode") == "coverage" or files.has(("evaluate", "coverage_summary"))
    sections, n_figures, n_placeholders = _sections(run, heads, (config.get("kmer") or {}).get("k"), coverage)
    if "model" in config and "train" in config and not coverage:  # the whole config: its settings beside the paper's
        engine = next((h.value for h in heads if h.id == "tomtom_engine"), None)
        sections.append(("Methods", "Where this run follows the paper",
                         "<h2>Methods. Where this run follows the paper</h2>\n"
                         + fidelity_html(fidelity_table(config, engine))))
    name, meta = _meta(config, run)
    preamble = skipped_list_html(run.skips) if run.skips else ""
    with atomic_open(out_html) as fh:
        fh.write(render_html(f"Basset report: {name}", meta, sections, preamble))
    write_headlines(out["headline"], heads)
    log.info("report: %d figures, %d placeholders, %d headline numbers, %d skipped stages -> %s", n_figures,
             n_placeholders, len(heads), len(run.skips), out_html)
    return {h.id: h.value for h in heads}
