"""The report's HTML: one self-contained page (images embedded as base64 ``data:`` URIs, so the page needs nothing
beside itself), written by hand from a few string templates because the page is small and fixed in shape (a
template engine would be one more dependency for a dozen tags).
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .report_numbers import Headline, fmt, source_name
from .report_text import KEY_HINTS, PANEL_NEEDS, SECTIONS, Figure, Skipped

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CSS = """
body{font-family:"Helvetica Neue",Arial,sans-serif;color:#222;max-width:1000px;margin:2em auto;padding:0 1em;
     line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:2px solid #444;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.9em} nav ul{columns:2;font-size:.95em}
figure{margin:1.2em 0;page-break-inside:avoid;break-inside:avoid}
figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.92em;margin-top:.4em} figcaption b{margin-right:.3em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em;page-break-inside:avoid}
th,td{border-bottom:1px solid #ccc;padding:.25em .7em;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #444} td.num{text-align:right;font-variant-numeric:tabular-nums}
.src{color:#777;font-size:.85em;font-family:monospace}
.note{background:#f6f6f6;border-left:4px solid #999;padding:.5em 1em} .missing{color:#a33}
.skipped{border-left-color:#c80} #skipped-stages ul{margin:.3em 0}
details{margin:.8em 0} summary{cursor:pointer}
@media print{body{max-width:none;margin:0} nav{display:none} h2{page-break-before:always}
             details{display:block} td.src{font-size:.75em}}
"""


def escape(text) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


_e = escape


def slug(text) -> str:
    """An anchor name: ``Figure 2`` -> ``figure-2``."""
    return re.sub(r"[^0-9a-z]+", "-", str(text).lower()).strip("-")


def embed_png(path) -> str:
    """``data:image/png;base64,...`` of a PNG file (its signature checked)."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise InputError(path, "not a PNG file (bad signature)")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def value_repr(value) -> str:
    """A headline value at full precision (the headline TSV and the rows' ``data-value``)."""
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def figure_html(fig: Figure, png: Path) -> str:
    """A drawn panel, its PNG ``png`` embedded, its caption and its source file."""
    anchor, source = "fig" + slug(fig.label), source_name(*fig.file)
    return (f'<figure id="{_e(anchor)}" data-figure="{_e(fig.label)}" data-file="{_e(source)}">\n'
            f'<img src="{embed_png(png)}" alt="{_e(f"Figure {fig.label}: {fig.title}")}">\n'
            f'<figcaption><b>Figure {_e(fig.label)}.</b><i>{_e(fig.title)}.</i> {_e(fig.caption)}'
            f"<br><span class=\"src\">{_e(source)}</span></figcaption>\n</figure>")


def headline_table(rows: list[Headline], with_paper: bool) -> str:
    """A section's headline numbers, each with its source (and the paper's number, ``with_paper``)."""
    head = "<tr><th>number</th><th>this run</th>" + ("<th>paper</th>" if with_paper else "") + "<th>source</th></tr>"
    body = []
    for r in rows:
        paper = ""
        if with_paper:
            paper = (f'<td class="num paper" data-paper-source="{_e(r.paper_source)}">{_e(fmt(r.paper_value))}</td>'
                     if r.paper_value is not None else "<td></td>")
        body.append(f'<tr class="headline" data-id="{_e(r.id)}" data-file="{_e(r.source_file)}" '
                    f'data-key="{_e(r.source_key)}" data-format="{_e(r.format)}" '
                    f'data-value="{_e(value_repr(r.value))}">'
                    f'<th>{_e(r.name)}</th><td class="num value">{_e(fmt(r.value, r.format))}</td>{paper}'
                    f'<td class="src">{_e(r.source_file)} · {_e(r.source_key)}</td></tr>')
    return f'<table class="headlines"><thead>{head}</thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"


def table_html(frame: pd.DataFrame, cls: str, floats: str = "{:.3f}") -> str:
    """A detail table (floats formatted with ``floats``, NaN empty)."""
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for x in rec:
            if isinstance(x, (float, np.floating)):
                cells.append(f'<td class="num">{_e("" if math.isnan(x) else floats.format(x))}</td>')
            else:
                cells.append(f"<td>{_e(x)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def skipped_html(skip: Skipped) -> str:
    """A skipped stage's note in its section."""
    hint = f" To bring it back, {_e(skip.hint)}." if skip.hint else ""
    return (f'<p class="note skipped" data-stage="{_e(skip.stage)}" data-key="{_e(skip.key or "")}">'
            f"Skipped: <b>{_e(skip.stage)}</b>, because {_e(skip.reason)}.{hint}</p>")


def skipped_list_html(skips: list[Skipped]) -> str:
    """The short list near the top: every skipped stage, its reason, the key and where it is missing."""
    items = []
    for skip in skips:
        where = ", ".join(f'<a href="#{slug(s)}">{_e(s)}</a>' for s in skip.sections)
        items.append(f'<li data-stage="{_e(skip.stage)}"><b>{_e(skip.stage)}</b>: {_e(skip.reason)}'
                     + (f"; to bring it back, {_e(skip.hint)}" if skip.hint else "")
                     + (f" ({where})" if where else "") + ".</li>")
    return (f'<aside id="skipped-stages" class="note"><b>Skipped stages ({len(skips)})</b>'
            f'<ul>{"".join(items)}</ul></aside>')


def missing_panel_html(label: str, title: str, file: tuple[str, str], folder: str, skips: list[Skipped],
                       drawn: bool = False) -> str:
    """A placeholder for a panel the run did not draw (``file``: its (stage, key), ``folder``: the results
    folder's name; ``drawn``: the file exists but shows nothing, as the site-class figure without genes): what
    is missing and which config key brings it."""
    key, need = PANEL_NEEDS.get(label, (None, None))
    skip = next((s for s in skips if key is not None and s.key == key), None)
    if label == "2, site classes" and drawn:
        what = (f"no gene annotation, so no site classes ({source_name('evaluate', 'by_class')} has no promoter, "
                "intragenic or intergenic rows)")
    else:
        what = f"{source_name(*file)} is absent from {folder}/" + (f" (it needs {need})" if need else "")
    text = f"Figure {label} ({title}) not drawn: {what}"
    if skip is not None:
        text += f"; {skip.stage}: skipped because {skip.reason}"
    if key is not None:
        text += f". To draw it, {KEY_HINTS.get(key, f'set {key} in the config')}"
    return f'<p class="note missing placeholder" data-figure="{_e(label)}">{_e(text)}.</p>'


def fidelity_html(table: pd.DataFrame) -> str:
    """The methods section's table (:func:`basset.fidelity.fidelity_table`): each step, the paper's setting, this
    run's ("as the paper" where it is the same), and why it differs."""
    rows = "".join(f"<tr><td>{_e(r.step)}</td><td>{_e(r.paper)}</td><td>{'as the paper' if r.same else _e(r.ours)}"
                   f"</td><td>{_e(r.why)}</td></tr>" for r in table.itertuples())
    n_same = int(table["same"].sum())
    return (f"<p>{n_same} of {len(table)} steps ran as the paper (Kelley et al. 2016, Methods and Basset's "
            f"scripts) describes them; the others differ for the reasons given.</p>\n"
            "<table><thead><tr><th>step</th><th>paper</th><th>this run</th><th>why it differs</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def render_html(title: str, meta: list[str], sections: list[tuple], preamble: str = "") -> str:
    """The page: ``sections`` are ``(name, title, html)`` (or ``(name, html)``, titled by :data:`SECTIONS`);
    ``preamble`` goes between the header and the table of contents."""
    sections = [s if len(s) == 3 else (s[0], SECTIONS.get(s[0], ""), s[1]) for s in sections]
    nav = "".join(f'<li><a href="#{slug(name)}">{_e(name)}. {_e(sub)}</a></li>' for name, sub, _ in sections)
    body = "\n".join(f'<section id="{slug(name)}">\n{content}\n</section>' for name, _, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header><h1>{_e(title)}</h1>\n"
            + "".join(f'<p class="meta">{_e(m)}</p>' for m in meta)
            + f"</header>\n{preamble}\n<nav><ul>{nav}</ul></nav>\n{body}\n</body>\n</html>\n")
