"""A simulated genome with a planted regulatory code: the embedded default data of the workflow.

:func:`simulate` writes a small genome (FASTA), one DNase-like peak file per cell type of a sample sheet,
a gene annotation (GTF), a phyloP-like conservation track (bigWig), GWAS-like variants (VCF + a PICS-like
fine-mapping table) and the truth behind all of them (``truth/``), so that every later stage of the
workflow (training, motif recovery, SAD) can be run without internet or GPU and graded against what was
planted. Its parameters are the ``simulate:`` config section; the defaults are the schema's
(``src/basset/schemas/simulate.schema.yaml``).

Model, in order (all coordinates 0-based, half-open unless said otherwise), one module per stage:

1. Background (:mod:`.genome`): each chromosome is cut into GC isochores (blocks of ``genome.isochore_kb`` kb
   whose GC is drawn around ``genome.gc``); bases are drawn from the isochore composition, then CpG
   dinucleotides are deaminated (CG -> TG / CA) with probability ``1 - genome.cpg_oe`` (human-like CpG
   depletion); A/T tracts are sprinkled in; a few N gaps are cut out.
2. Candidate sites (:mod:`.sites`; ``sites.per_mb`` per Mb, centres at least ``sites.min_spacing`` bp apart,
   away from gaps) are given a class: ``promoter`` (a CpG island at the TSS of a simulated gene, with
   SP1/NRF1/ELK1/NFYA), ``constitutive`` (CTCF), one lineage program per used sample group (its factors, e.g.
   GATA1/KLF1), or ``decoy`` (no or few weak motifs). Motif instances are sampled from sharpened JASPAR PFMs
   (:mod:`basset.jaspar`) into ``sites.slots`` slots of ``sites.slot_bp`` bp around the centre; one
   cooperative pair per ``cooperative`` entry is planted at a fixed spacing. Some sites get a flanking A-tract.
3. Accessibility of site i in cell c (:mod:`.accessibility`): ``z = sum_k a[c, f_k] * m_k + coop -
   a_tract_penalty + noise`` with ``a`` the cell x factor activity (lineage factors high, others low, per-cell
   log-normal variation) and ``m_k`` the planted instance's log-odds score / the PWM's best score; the top
   ``fraction_c`` of sites (``fraction_c`` uniform in ``accessibility.fraction``) are accessible in cell c. A
   few extra false peaks per cell land at random background positions.
4. Peaks (:mod:`.peaks`; narrowPeak or hotspot BED, gzip with mtime 0), genes and conservation
   (:mod:`.annotation`), variants (:mod:`.variants`: LD blocks with one causal SNP breaking or creating a
   planted motif and linked bystanders; in ``variants.coding_blocks`` of the blocks one bystander is annotated
   missense, which the paper's coding-LD filter removes) and truth, written by :mod:`.write`.

Everything is drawn from one :class:`numpy.random.SeedSequence`, one spawned stream per stage
(:data:`.state.STREAMS`); the same seed and params give byte-identical files.
"""

from .params import check_programs, simulate_params
from .run import simulate
from .sites import pwm_tables
from .write import OUTPUTS, PEAK_SUFFIX, simulated_paths

__all__ = ["OUTPUTS", "PEAK_SUFFIX", "check_programs", "pwm_tables", "simulate", "simulate_params",
           "simulated_paths"]
