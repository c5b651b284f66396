"""Stage variants: SNP accessibility difference and PICS enrichment (the paper's Figure 5) over files.

One function per rule (``workflow/rules/variants.smk``, and ``select_pics_variants`` of
``workflow/rules/download.smk``):

- :func:`score_snps`: the SAD table of every VCF record (``sad.tsv.gz``, read back with :func:`read_sad`) and its
  counts (swapped, skipped and split records), streamed ``chunk_size`` records at a time (:func:`score_variants`);
- :func:`pics_enrichment`: do likely-causal GWAS SNPs (high PICS) change predicted accessibility more than
  unlikely ones (Figure 5A)? And the mutagenesis maps around the top likely-causal SNP, reference and
  alternative (Figure 5B, :func:`top_snp_maps`);
- :func:`select_pics_variants`: the records of the PICS SNPs (which have no alleles) from a large sites VCF.

The arithmetic is :mod:`basset.vcf` (records, windows), :mod:`basset.sad`, :mod:`basset.pics` and
:mod:`basset.ism`; the figures are :mod:`basset.plots.variants` (5A) and :mod:`basset.plots.mutagenesis` (5B).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import heapq
import logging
import mmap
import multiprocessing as mp
import os
import pickle
import queue
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import __version__
from ..config import with_defaults
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_open, file_sha256, open_text
from ..ism import ism, satmut_map
from ..logs import progress_bar
from ..models import SummedCoverage, load_model
from ..pics import (
    CODING_ANNOTATIONS,
    enrichment,
    join_pics,
    read_pics,
    select_vcf_records,
    top_snp,
)
from ..plots.mutagenesis import fig_satmut
from ..plots.variants import fig5a, fig_delta_profile
from ..sad import (
    check_target_names,
    input_length,
    score_windows,
    weight_vector,
)
from ..sadfile import (
    DELTA_BOUNDS,
    DELTA_CLASSES,
    ROW_TEXT,
    SadWriter,
    delta_class,
    merge_sad_files,
    read_sad,
    row_texts,
    write_sad_tsv,
)
from ..samples import read_sample_sheet, target_assays
from ..sequence import ChromosomeMatcher, Genome
from ..tables import write_summary, write_table
from ..vcf import (
    REJECT_COLUMNS,
    RecordDeduper,
    iter_vcf,
    reject_frame,
    variant_sequences,
)
from .report_numbers import read_kv

log = logging.getLogger("basset.stages.variants")


# ------------------------------------------------------------------------------------------------ score_snps
#: why a record that was read is not scored (the rejects file's reason column)
SKIP_REASONS = {
    "ref_mismatch": "REF matches the genome neither as written nor swapped with ALT",
    "unknown_chrom": "chromosome not in the genome (also not as chr-less/chr-prefixed or M/MT)",
    "outside_chrom": "the REF allele runs past the end of its chromosome",
    "n_allele": "REF or ALT holds N",
    "duplicate": "repeats an earlier record (same chrom, pos, ref and alt), which was scored",
}


def score_snps(model, fasta, vcf, *, out: dict, variants: dict | None = None, device=None,
               threads: int | None = None, fai=None, progress: bool = False, shard: tuple[int, int] | None = None
               ) -> dict:
    """Rule score_snps: SAD = p(alt) - p(ref) per target of every record of ``vcf`` (plain or gzipped) against
    the genome ``fasta`` (indexed; ``fai``, its index, is the rule's dependency only), with the model.pt
    ``model``.

    ``variants``: the config section (keys used: ``batch_size``, ``rc_average``, ``weights``, ``chunk_size``,
    ``strict``, ``sad_dtype``, ``bf16``). Writes ``out["sad"]`` (the HDF5 SAD file, :mod:`basset.sadfile`), and
    when given ``out["table"]`` (the summary TSV), ``out["rejects"]`` (rejected and skipped records) and
    ``out["summary"]`` (the counts of :func:`score_variants`, which it returns). ``shard=(k, n)``: score only that
    shard of the VCF's chunks (a shard of ``variants.shards`` jobs; :func:`gather_sad` joins them).
    """
    cfg = with_defaults("variants", variants)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev)
    if net.objective == "poisson":  # a coverage model: SAD of the coverage summed over its bins (Basenji's)
        net = SummedCoverage(net)
    summary = score_variants(net, fasta, vcf, out["sad"], target_names=meta["target_names"],
                             batch_size=int(cfg["batch_size"]), device=dev, rc_average=bool(cfg["rc_average"]),
                             weights=cfg.get("weights") or None, chunk_size=int(cfg["chunk_size"]),
                             progress=progress, table=out.get("table"), rejects=out.get("rejects"),
                             strict=bool(cfg["strict"]), dtype=cfg["sad_dtype"],
                             shard=shard, attrs={"model": str(model), "model_sha256": file_sha256(model)},
                             bf16=bool(cfg["bf16"]))
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary


class _WindowSlots:
    """Shared memory that carries the windows of the chunks in flight from the reader process to the scoring process:
    ``n`` slots of ``rows`` reference and ``rows`` alternative windows of ``L`` bytes, in one anonymous shared
    mapping made before the fork, and a queue of the free slots. The reader copies a chunk's windows into a free slot
    and sends its number; the scoring process reads them in place and frees the slot once scored.
    Pickling the windows through the pipe instead cost the scoring process 2.5 s per million SNVs (600 bp), a fifth
    of its work (bench_sad.py). A chunk too large for a slot (multi-allelic records split) goes through the pipe."""

    #: the most shared memory the slots take; longer windows (a coverage model's) go through the pipe
    MAX_BYTES = 256 << 20

    def __init__(self, ctx, n: int, rows: int, L: int):
        self.rows, self.L = rows, L
        self.slot = 2 * rows * L
        self.n = n if 0 < n * self.slot <= self.MAX_BYTES else 0
        self.memory = mmap.mmap(-1, self.n * self.slot) if self.n else None
        self.free = ctx.Queue()
        for i in range(self.n):
            self.free.put(i)

    def fits(self, windows: np.ndarray) -> bool:
        return self.n > 0 and windows.shape[0] <= self.rows and windows.shape[1] == self.L

    def take(self) -> int | None:
        """A free slot, or ``None`` when every slot is held (the reader then sends the windows through the pipe:
        a consumer that keeps items without releasing them slows the run down but cannot stall it)."""
        try:
            return self.free.get(timeout=0.05)
        except queue.Empty:
            return None

    def release(self, slot: int) -> None:
        """Give ``slot`` back to the reader (nothing once the reader has ended and the queue is closed)."""
        with contextlib.suppress(ValueError):
            self.free.put(slot)

    def views(self, slot: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The reference and alternative windows ``(k, L) uint8`` of ``slot``, in place."""
        base, size = slot * self.slot, k * self.L
        return tuple(np.frombuffer(self.memory, dtype=np.uint8, count=size, offset=base + half).reshape(k, self.L)
                     for half in (0, self.slot // 2))


def _reader_process(prepare_args: tuple, counts: Counter, match: ChromosomeMatcher, depth: int = 2,
                    stats: Counter | None = None):
    """:func:`_prepare`'s items, made in a forked worker process ``depth`` chunks ahead while this process scores
    the current one; ``counts`` and ``match.mapped`` are brought up to date item by item,
    ``stats['reader_cpu_seconds']`` adds up the CPU time the worker spent on the items received so far, and an
    exception of the worker is raised here. Each item comes with a ``release`` callable: its windows (in a slot of
    :class:`_WindowSlots`) stay valid until it is called; when every slot is held the reader sends windows through
    the pipe.

    A process, not a thread: the reading, checking and windowing of a chunk hold the GIL most of the time, so a
    reader thread made the scoring slower than no overlap at all (bench_sad.py: 28 s against 24.6 s for 1 M
    SNVs). Forked before any output file is open (the child must not share an open HDF5 file); the child leaves
    when this process is gone. Where ``fork`` does not exist the items are made here, in turn."""
    stats = Counter() if stats is None else stats
    if "fork" not in mp.get_all_start_methods():  # pragma: no cover - Linux has fork
        for value in _prepare(*prepare_args, counts, match):
            yield value, _no_slot
        return
    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=depth)
    stop = ctx.Event()
    # a slot for each chunk queued, the one being read and the one being scored
    slots = _WindowSlots(ctx, depth + 2, int(prepare_args[3]), int(prepare_args[2]))
    proc = ctx.Process(target=_reader_main, args=(q, stop, os.getpid(), prepare_args, match, slots), daemon=True,
                       name="basset-sad-reader")
    proc.start()
    try:
        while True:
            try:
                kind, value, delta, mapped = q.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the VCF reader process ended without a result (exit code {proc.exitcode}; "
                                       "killed, or out of memory?)") from None
                continue
            stats["reader_cpu_seconds"] += delta.pop("reader_cpu_seconds", 0.0)
            counts.update(delta)
            match.mapped.update(mapped)
            if kind == "error":
                raise value
            if kind == "end":
                return
            release = _no_slot
            if isinstance(value[2], int):  # the windows are in a slot
                release = functools.partial(slots.release, value[2])
                value = (*value[:2], *slots.views(value[2], len(value[4])), *value[4:])
            yield value, release
    finally:
        stop.set()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join()
        q.close()
        slots.free.close()


def _no_slot() -> None:
    """The ``release`` of an item whose windows came through the pipe."""


def _reader_main(q, stop, parent: int, prepare_args: tuple, match: ChromosomeMatcher, slots: _WindowSlots) -> None:
    """The worker of :func:`_reader_process`: each item with the counts since the last one, its windows copied into
    a free slot of ``slots`` where they fit."""
    counts: Counter = Counter()

    def put(message) -> bool:
        while not stop.is_set():
            if os.getppid() != parent:  # the scoring process is gone (killed): nobody will read
                os._exit(1)
            try:
                q.put(message, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    try:
        cpu = time.process_time()
        for item in _prepare(*prepare_args, counts, match):
            slot = slots.take() if item[2] is not None and slots.fits(item[2]) else None
            if slot is not None:  # else (every slot held: never while the consumer releases them) through the pipe
                ref, alt = slots.views(slot, len(item[2]))
                ref[...], alt[...] = item[2], item[3]
                item = (*item[:2], slot, None, *item[4:])
            counts["reader_cpu_seconds"] = time.process_time() - cpu  # the work of this item, not the waits
            if not put(("item", item, dict(counts), dict(match.mapped))):
                return
            del item
            _release_free_memory()  # the chunk's temporaries: the reader's heap stays flat too
            counts.clear()
            cpu = time.process_time()
        put(("end", None, dict(counts), dict(match.mapped)))
    except BaseException as exc:  # handed to the scoring process, picklable or as text
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        put(("error", exc, dict(counts), dict(match.mapped)))


def _prepare(genome: Genome, vcf_path, L: int, chunk_size: int, strict: bool, shard, counts: Counter,
             match: ChromosomeMatcher):
    """Chunks of the VCF with their windows: ``(n, rows, ref, alt, scored_rows, rejected)``, where ``n`` is the
    number of rows of the chunk, ``rows`` its :data:`basset.sadfile.VARIANT_COLUMNS` and
    :data:`basset.sadfile.ROW_TEXT`, ``ref`` and ``alt`` the windows of the rows to score, ``scored_rows`` their
    positions in the chunk, ``rejected`` the lines of the rejects file found since the last chunk (the last item may
    carry only those, with ``n = None``). Plain data, so that a worker process can hand them over
    (:func:`_reader_process`)."""
    rejected: list[pd.DataFrame] = []
    dedup = RecordDeduper()
    for chunk in iter_vcf(vcf_path, chunk_size=chunk_size, counts=counts, strict=strict, rejects=rejected.append,
                          skipped=rejected.append, shard=shard):
        dup = dedup(chunk)
        if not chunk.attrs.get("mine", True):  # another shard's records: only remembered, for duplicates
            continue
        fresh = np.flatnonzero(~dup)
        vs = variant_sequences(genome, chunk.iloc[fresh] if dup.any() else chunk, L, match)
        counts.update(vs.tally())
        counts["duplicate"] += int(dup.sum())
        status = np.full(len(chunk), "duplicate", dtype=object)
        status[fresh] = vs.status
        ref = chunk["ref"].to_numpy(dtype=object).copy()
        alt = chunk["alt"].to_numpy(dtype=object).copy()
        ref[fresh], alt[fresh] = vs.ref_allele, vs.alt_allele
        swapped = np.zeros(len(chunk), dtype=bool)
        swapped[fresh] = vs.swapped
        rows = pd.DataFrame({"chrom": chunk["chrom"].to_numpy(dtype=object), "pos": chunk["pos"].to_numpy(),
                             "id": chunk["id"].to_numpy(dtype=object), "ref": ref, "alt": alt, "swapped": swapped,
                             "status": status, "line": chunk["line"].to_numpy()})
        rows[ROW_TEXT] = row_texts(rows)  # the summary TSV's text, made here while the model scores
        skipped = np.ones(len(chunk), dtype=bool)
        skipped[fresh[vs.kept]] = False
        if skipped.any():
            sk = chunk.loc[skipped]
            rejected.append(reject_frame(vcf_path, sk, [SKIP_REASONS[x] for x in status[skipped]]))
        found, rejected[:] = _reject_text(rejected), []
        yield len(chunk), rows, vs.ref, vs.alt, fresh[vs.kept], found
    if rejected:
        yield None, None, None, None, None, _reject_text(rejected)


def _reject_text(frames: list[pd.DataFrame]) -> str:
    """The lines of the rejects file for reject frames (:data:`basset.vcf.REJECT_COLUMNS`), in VCF line order."""
    if not frames:
        return ""
    frame = pd.concat(frames, ignore_index=True).sort_values("line", kind="stable")
    return frame.to_csv(sep="\t", index=False, header=False)


def score_variants(model, genome: Genome | str | Path, vcf_path: str | Path, out_path: str | Path,
                   target_names, seq_len: int | None = None, batch_size: int = 256, device="cpu",
                   rc_average: bool = True, weights: dict | None = None, chunk_size: int = 10_000,
                   progress: bool = False, *, table=None, rejects=None, strict: bool = False,
                   dtype: str = "float16", shard: tuple[int, int] | None = None, attrs: dict | None = None,
                   bf16: bool = False) -> dict:
    """Score every variant of a VCF with SAD = p(alt) - p(ref) per target and write the HDF5 SAD file
    ``out_path`` (:mod:`basset.sadfile`), and when given the summary TSV ``table`` and the ``rejects`` TSV
    (gzipped when a name ends in ``.gz``).

    ``model``: any ``nn.Module`` mapping ``(B, 4, L)`` one-hot to ``(B, T)`` logits; ``seq_len`` defaults
    to ``model.config['seq_len']``. ``target_names``: ``T`` column names (``meta['target_names']`` of
    :func:`basset.models.load_model`). ``weights``: ``{target: w}`` adds ``weighted = sum w_t |SAD_t|``.
    ``dtype``: ``float16`` or ``float32`` for the SAD matrix. ``bf16``: the model under bfloat16 autocast (for
    CUDA; on the default model it moves SAD by 0.006 at most, measured with CPU autocast in benchmarks/README.md).
    On a CPU the torch threads are shared with the reader process as :class:`_CoreShare` decides.

    The VCF is streamed ``chunk_size`` records at a time (memory does not grow with the file), the next chunks
    read and their windows built in a worker process while the model scores the current one. Malformed records
    are rejected (file:line, ID and reason in ``rejects``) and the run goes on, unless ``strict``, which makes
    the first one an :class:`InputError`. Records skipped (REF mismatch, unknown chromosome, outside the
    chromosome, an N allele, a duplicate of an earlier record) stay in the SAD file with their status and are
    listed in ``rejects`` too. VCF chromosome names that match the genome's only with or without ``chr`` (or M
    against MT) are mapped and the mapping is logged. Unless ``shard`` is given, a VCF of which no variant lands
    on a chromosome of the genome, or no variant can be scored, is an :class:`InputError` (with example names
    from both files), and nothing is written.

    Returns a dict of counts (also logged): variants_read, multiallelic_records, multiallelic_extra_rows,
    symbolic_skipped, malformed_rejected, scored, snvs_scored, indels_scored, mnps_scored, swapped,
    ref_mismatch_skipped (of which indel_ref_mismatch_skipped), unknown_chrom_skipped, unknown_chroms
    (comma-separated), outside_chrom_skipped, n_allele_skipped, duplicate_skipped, off_end_padded,
    chroms_mapped, plus seq_len, targets and rc_average.
    """
    target_names = check_target_names(target_names)
    L = input_length(model, seq_len)
    w_vec = weight_vector(weights, target_names)
    own_genome = not isinstance(genome, Genome)
    if own_genome:
        genome = Genome(genome)
    counts: Counter = Counter()
    unknown_chroms: set[str] = set()
    match = ChromosomeMatcher(genome.sizes)
    T = len(target_names)
    file_attrs = {"seq_len": L, "rc_average": bool(rc_average), "bf16": bool(bf16), "genome": str(genome.path),
                  "vcf": str(vcf_path),
                  "basset_version": __version__, "shard": "" if shard is None else f"{shard[0]}/{shard[1]}",
                  **(attrs or {})}
    bar = progress_bar(None, progress, "scoring variants", "variant")
    cores = _CoreShare(device)
    reader, reader_seen = Counter(), 0.0
    items = _reader_process((genome, vcf_path, L, chunk_size, strict, shard), counts, match, stats=reader)
    writer = None
    try:
        next_item = next(items, None)  # the worker is forked before any output file is open
        writer = SadWriter(out_path, target_names, table=table, weights=w_vec, dtype=dtype, attrs=file_attrs)
        with contextlib.ExitStack() as stack:
            reject_out = None
            if rejects is not None:
                reject_out = stack.enter_context(
                    atomic_open(rejects, "w", gzip_level=1 if str(rejects).endswith(".gz") else None))
                reject_out.write("\t".join(REJECT_COLUMNS) + "\n")
            while next_item is not None:
                started, reader_cpu = time.perf_counter(), reader["reader_cpu_seconds"] - reader_seen
                reader_seen += reader_cpu
                (n, rows, ref, alt, scored_rows, found), release = next_item
                if found and reject_out is not None:
                    reject_out.write(found)
                if n is not None:
                    writer.add_variants(rows)
                    unknown = rows["status"].to_numpy() == "unknown_chrom"
                    unknown_chroms.update(rows["chrom"].to_numpy(dtype=object)[unknown])
                    if len(scored_rows) == len(rows):  # every row scored: no NaN block to fill
                        sad = score_windows(model, ref, alt, T, batch_size, device, rc_average, bf16)
                    else:
                        sad = np.full((len(rows), T), np.nan, dtype=np.float32)
                        if len(scored_rows):
                            sad[scored_rows] = score_windows(model, ref, alt, T, batch_size, device, rc_average,
                                                             bf16)
                    del ref, alt
                    release()  # the windows' slot goes back to the reader
                    writer.add_scores(rows, sad)
                    del sad
                    _release_free_memory()
                    bar.update(n)
                else:
                    release()
                cores.record(reader_cpu, time.perf_counter() - started)
                next_item = next(items, None)
            summary = _sad_summary(counts, unknown_chroms, match, L, T, rc_average)
            if shard is None:
                _check_something_scored(vcf_path, list(genome.sizes), summary, unknown_chroms, genome.path)
    except BaseException as exc:
        items.close()
        if writer is not None:
            writer.abort(exc)
        raise
    finally:
        bar.close()
        cores.restore()
        if own_genome:
            genome.close()
    writer.close()
    if match.mapped:
        log.info("VCF chromosome names mapped onto the genome's: %s", _mapping_text(match.mapped))
    _log_sad_summary(vcf_path, out_path, summary)
    return summary


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim`` from the symbols already loaded (no library search, nothing at import); ``None``
    off glibc (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def _release_free_memory() -> None:
    """Hand the heap's free pages back to the system after each chunk (glibc's ``malloc_trim``). Each chunk
    allocates and frees tens of MB; glibc keeps the freed blocks and its heaps creep up
    (+10 % over a million variants in bench_sad.py). With the trim memory stays flat; a no-op off glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class _CoreShare:
    """How many torch threads the scoring process keeps beside the VCF reader process, on a CPU.

    It starts with all of them. After ``probe`` chunks past the first, it compares the time the scoring process
    worked on them (predicting and writing) with the CPU time the reader spent preparing them. When the scoring
    took less than 4 times the reader's work, the model is cheap, the reader is (nearly) the bottleneck, and torch's
    spinning workers on the reader's core would slow it down: one core is left to the reader. Otherwise (a CNN's
    forward is nearly all of the time, and the reader mostly sleeps on a full queue) all threads stay. The reader's
    CPU time, not the time spent waiting for it, because the queue is full of chunks read ahead when the probe starts.
    Measured on 2 cores (benchmarks/README.md, bench_sad_model.py): the default model scores 1.55x faster with both
    threads than with one left; a trivial model 1.5x faster with one left."""

    def __init__(self, device, probe: int = 2, ratio: float = 4.0):
        self.threads = torch.get_num_threads()
        self.active = torch.device(device).type == "cpu" and self.threads > 1
        self.probe, self.ratio, self.chunks, self.reader, self.worked = probe, ratio, 0, 0.0, 0.0

    def record(self, reader_cpu: float, worked: float) -> None:
        """One chunk: the reader's CPU seconds on it, and this process's seconds scoring and writing it."""
        if not self.active:
            return
        self.chunks += 1
        if self.chunks == 1:  # start-up: imports and caches on both sides
            return
        self.reader += reader_cpu
        self.worked += worked
        if self.chunks > self.probe:
            self.active = False
            if self.worked < self.ratio * self.reader:
                torch.set_num_threads(self.threads - 1)
                log.info("scoring (%.2f s) is cheap next to reading the VCF (%.2f s of CPU): one core left to the "
                         "reader process", self.worked, self.reader)

    def restore(self) -> None:
        torch.set_num_threads(self.threads)


def _mapping_text(mapped: dict, most: int = 10) -> str:
    items = [f"{a}->{b}" for a, b in sorted(mapped.items())]
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


def _check_something_scored(vcf_path, genome_names: list, s: dict, unknown_chroms: set[str], genome="") -> None:
    """An :class:`InputError` when the VCF gave nothing useful: no record, no variant on a known chromosome, or
    none that could be scored."""
    if s["scored"] > 0:
        return
    if s["variants_read"] == 0:
        raise InputError(vcf_path, "no variant records: expected tab-separated lines CHROM POS ID REF ALT")
    names = list(genome_names)
    landed = s["ref_mismatch_skipped"] + s["outside_chrom_skipped"]  # rows whose chromosome the genome has
    if landed == 0 and s["unknown_chrom_skipped"] > 0:
        vcf_names = sorted(unknown_chroms)
        raise InputError(vcf_path, f"no variant is on a chromosome of the genome {genome}: the VCF names "
                                   f"{', '.join(vcf_names[:5])}{' ...' if len(vcf_names) > 5 else ''}; the genome "
                                   f"has {', '.join(names[:5])}{' ...' if len(names) > 5 else ''} (chr1/1 and M/MT "
                                   "spellings are matched automatically)")
    raise InputError(vcf_path, f"no variant could be scored: {s['ref_mismatch_skipped']} REF mismatching the "
                               f"genome, {s['unknown_chrom_skipped']} on unknown chromosomes, "
                               f"{s['outside_chrom_skipped']} outside their chromosome, {s['n_allele_skipped']} "
                               f"with an N allele, {s['malformed_rejected']} malformed, {s['symbolic_skipped']} "
                               "symbolic (see the rejects file)")


def _sad_summary(counts: Counter, unknown_chroms: set[str], match: ChromosomeMatcher, L: int, T: int,
                 rc_average: bool) -> dict:
    """The counts of :func:`score_variants` in the order of its docstring (statuses as ``..._skipped``)."""
    summary = {k: int(counts[k]) for k in ("variants_read", "multiallelic_records", "multiallelic_extra_rows",
                                           "symbolic_skipped", "malformed_rejected")}
    summary["scored"] = int(counts["ok"] + counts["swapped"])
    for key in ("snvs_scored", "mnps_scored", "indels_scored", "swapped"):
        summary[key] = int(counts[key])
    summary.update({
        "ref_mismatch_skipped": int(counts["ref_mismatch"]),
        "indel_ref_mismatch_skipped": int(counts["indel_ref_mismatch_skipped"]),
        "unknown_chrom_skipped": int(counts["unknown_chrom"]),
        "unknown_chroms": ",".join(sorted(unknown_chroms)),
        "outside_chrom_skipped": int(counts["outside_chrom"]),
        "n_allele_skipped": int(counts["n_allele"]),
        "duplicate_skipped": int(counts["duplicate"]),
        "off_end_padded": int(counts["off_end_padded"]),
        "chroms_mapped": ",".join(f"{a}->{b}" for a, b in sorted(match.mapped.items())),
        "seq_len": L,
        "targets": T,
        "rc_average": bool(rc_average),
    })
    return summary


def _log_sad_summary(vcf_path, out_path, s: dict) -> None:
    log.info("SAD of %s -> %s: %d variants read (%d multi-allelic records split into %d extra rows, %d symbolic "
             "skipped, %d malformed rejected); %d scored (%d SNVs, %d MNPs, %d indels; %d swapped to the genome's "
             "allele, %d padded with N off a chromosome end); skipped: %d REF mismatching the genome (%d indels), "
             "%d on unknown chromosomes (%s), %d outside their chromosome, %d with an N allele, %d duplicates",
             vcf_path, out_path, s["variants_read"], s["multiallelic_records"], s["multiallelic_extra_rows"],
             s["symbolic_skipped"], s["malformed_rejected"], s["scored"], s["snvs_scored"], s["mnps_scored"],
             s["indels_scored"], s["swapped"], s["off_end_padded"], s["ref_mismatch_skipped"],
             s["indel_ref_mismatch_skipped"], s["unknown_chrom_skipped"], s["unknown_chroms"] or "none",
             s["outside_chrom_skipped"], s["n_allele_skipped"], s["duplicate_skipped"])


# ------------------------------------------------------------------------------------------------ gather_sad
def gather_sad(sad, *, out: dict, rejects=None, summary=None, fasta=None) -> dict:
    """Rule gather_sad: join the SAD files ``sad`` of the shards of one VCF (:func:`score_snps` with
    ``shard``) in VCF order into ``out["sad"]`` and ``out["table"]``, their ``rejects`` files into
    ``out["rejects"]`` (line order) and their ``summary`` counts into ``out["summary"]``: the same files as one
    job scoring the whole VCF. Like that job, it fails when no variant at all could be scored (``fasta``, the
    genome, names its chromosomes in the message)."""
    sads, rej, sums = _as_list(sad), _as_list(rejects), _as_list(summary)
    total = _sum_summaries([read_kv(p) for p in sums]) if sums else None
    if total is not None:
        genome_names = list(Genome(fasta).sizes) if fasta else []
        _check_something_scored(sads[0], genome_names, total, set(filter(None, total["unknown_chroms"].split(","))),
                                genome=fasta or "the genome")
    merge_sad_files(sads, out["sad"], table=out.get("table"))
    if out.get("rejects"):
        _merge_rejects(rej, out["rejects"])
    if out.get("summary") and total is not None:
        write_summary(out["summary"], total)
    log.info("gathered %d shards into %s", len(sads), out["sad"])
    return total or {}


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, Path)) else list(value)


def _sum_summaries(parts: list[dict]) -> dict:
    """The counts of shard summaries added up (chromosome lists joined), the settings of the first."""
    total = dict(parts[0])
    for part in parts[1:]:
        for key, value in part.items():
            if key in ("unknown_chroms", "chroms_mapped"):
                joined = set(filter(None, str(total[key]).split(","))) | set(filter(None, str(value).split(",")))
                total[key] = ",".join(sorted(joined))
            elif key.endswith(("_read", "_records", "_rows", "_skipped", "_rejected", "_scored", "_padded")) \
                    or key in ("scored", "swapped"):
                total[key] = int(total[key]) + int(value)
    return total


def _merge_rejects(paths: list, out) -> None:
    """The shards' rejects files as one, in VCF line order (a k-way merge of files already in line order)."""
    def lines(path):
        with open_text(path) as fh:
            next(fh, None)
            for text in fh:
                yield int(text.split("\t", 2)[1]), text
    with atomic_open(out, "w", gzip_level=1 if str(out).endswith(".gz") else None) as fh:
        fh.write("\t".join(REJECT_COLUMNS) + "\n")
        for _, text in heapq.merge(*(lines(p) for p in paths), key=lambda x: x[0]):
            fh.write(text)


def sad_tsv(sad, *, out: dict) -> dict:
    """Rule sad_tsv: the scored rows of the SAD file ``sad`` with one SAD column per target, as text
    (``out["table"]``; config ``variants.tsv_targets``)."""
    n = write_sad_tsv(sad, out["table"], targets=True)
    return {"rows": n}


# ------------------------------------------------------------------------------------------- pics_enrichment
def pics_enrichment(sad, pics, model, fasta, *, out: dict, variants: dict | None = None, device=None,
                    threads: int | None = None, fai=None) -> dict:
    """Rule pics_enrichment: the SAD table ``sad`` joined to the PICS table ``pics`` (Farh et al. 2015 layout,
    text or .xls); likely-causal (PICS >= ``high_pics``) against unlikely (<= ``low_pics``) SNPs.

    ``variants``: the config section (keys used: ``high_pics``, ``low_pics``, ``sad_threshold``, ``score``,
    ``pics_coding``, ``pics_bootstrap``, ``plot_window``, ``rc_average``). LD sets with a protein-coding SNP
    are removed first (:func:`pics_coding`). Writes ``out["summary"]`` (the :func:`basset.pics.enrichment` dict, which
    it returns), ``out["snps"]`` (the PICS SNPs with their score), ``out["fig5a"]`` and ``out["fig5b"]`` (the
    maps around the top SNP, from the model.pt ``model`` and the genome ``fasta``).
    """
    cfg = with_defaults("variants", variants)
    high, threshold = float(cfg["high_pics"]), float(cfg["sad_threshold"])
    sad_table, pics_df = read_sad(sad), read_pics(pics, coding=pics_coding(cfg))
    summary = enrichment(sad_table, pics_df, high=high, low=float(cfg["low_pics"]), sad_threshold=threshold,
                         score=cfg["score"], n_boot=int(cfg["pics_bootstrap"]))
    write_table(out["snps"], join_pics(sad_table, pics_df, cfg["score"]), float_format="%.6g")
    fig5a(summary, out["fig5a"], threshold=threshold)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="binary")
    ref, alt, title = top_snp_maps(net, fasta, sad_table, pics_df, meta["target_names"], high=high,
                                   window=int(cfg["plot_window"]), rc_average=bool(cfg["rc_average"]), device=dev)
    fig_satmut([ref, alt], out["fig5b"], title=title)
    log.info("Figure 5B: %s", title)
    write_summary(out["summary"], summary)
    return summary


def delta_profile(sad, pics, samples, *, out: dict, variants: dict | None = None) -> dict:
    """Rule delta_profile (``dataset.mode: deepsea``): DeepSEA's reading of the PICS-like SNPs. The top likely causal
    SNP (Figure 5B's, :func:`basset.pics.top_snp`) has its Delta (SAD) for every feature written to ``out["profile"]``
    (target, assay, cell, delta, class) and drawn grouped by assay (``out["fig_delta"]``); ``out["summary"]`` holds
    that SNP, its largest |Delta| and class, the largest |Delta| per assay, and how many likely causal (PICS >=
    ``high_pics``) and unlikely (<= ``low_pics``) SNPs fall in each class of their largest |Delta| (strong > 0.5,
    moderate 0.2-0.5, weak < 0.2). ``samples``: the sample sheet (assay and cell of each feature)."""
    cfg = with_defaults("variants", variants)
    high, low = float(cfg["high_pics"]), float(cfg["low_pics"])
    sad_table, pics_df = read_sad(sad), read_pics(pics, coding=pics_coding(cfg))
    sheet = read_sample_sheet(samples)
    names = [str(t) for t in sad_table.attrs["target_names"]]
    cell_of = dict(zip(sheet["name"].astype(str), sheet["cell"].astype(str))) if "cell" in sheet else {}
    top, top_pics = top_snp(sad_table, pics_df, high)
    profile = pd.DataFrame({"target": names, "assay": target_assays(sheet, names),
                            "cell": [cell_of.get(t, "") or t for t in names],
                            "delta": top[names].to_numpy(dtype=np.float64)})
    order = {a: i for i, a in enumerate(dict.fromkeys(profile["assay"]))}
    profile = profile.iloc[np.argsort(profile["assay"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    profile["class"] = np.asarray(DELTA_CLASSES, dtype=object)[delta_class(profile["delta"].abs().to_numpy(np.float32))]
    write_table(out["profile"], profile, float_format="%.6g")
    # the SAD file's largest |Delta| and its class, from the full-precision SAD (the profile's are float16)
    top_abs, top_class = float(top["max_abs_sad"]), str(top["delta_class"])
    summary = {"snp": str(top["id"]), "chrom": str(top["chrom"]), "pos": int(top["pos"]), "ref": str(top["ref"]),
               "alt": str(top["alt"]), "pics": round(float(top_pics), 6), "top_target": str(top["top_target"]),
               "max_abs_delta": round(top_abs, 6), "class": top_class}
    for assay, group in profile.groupby("assay", sort=False):
        summary[f"{assay}_max_abs_delta"] = round(float(group["delta"].abs().max()), 6)
    joined = join_pics(sad_table, pics_df, "max_abs")
    for label, rows in (("likely", joined["pics"] >= high), ("unlikely", joined["pics"] <= low)):
        scored = joined.loc[rows & joined["score"].notna(), "score"].to_numpy(np.float32)
        codes = delta_class(scored)
        for code in (3, 2, 1):
            summary[f"{label}_{DELTA_CLASSES[code]}"] = int((codes == code).sum())
    lo_b, hi_b = DELTA_BOUNDS
    fig_delta_profile(profile, out["fig_delta"], bounds=DELTA_BOUNDS,
                      title=f"{summary['snp']} (PICS {top_pics:.2f}): Δ by feature, largest |Δ| {top_abs:.2f} "
                            f"({top_class}; strong > {hi_b}, weak < {lo_b})")
    write_summary(out["summary"], summary)
    log.info("Δ profile: %s, largest |Δ| %.3f (%s) in %s", summary["snp"], top_abs, top_class, summary["top_target"])
    return summary


def pics_coding(cfg: dict) -> tuple[str, ...]:
    """The Annotation values whose LD sets are removed: ``variants.pics_coding``, or when null
    :data:`basset.pics.CODING_ANNOTATIONS` (an empty list removes none)."""
    return CODING_ANNOTATIONS if cfg.get("pics_coding") is None else tuple(cfg["pics_coding"])


def top_snp_maps(model, genome: Genome | str | Path, sad_table: pd.DataFrame, pics_df: pd.DataFrame,
                 target_names, high: float = 0.5, window: int = 100, rc_average: bool = True,
                 seq_len: int | None = None, device="cpu") -> tuple[dict, dict, str]:
    """Figure 5B's data: saturation-mutagenesis maps of the reference and alternative sequence around the
    likely-causal SNP of :func:`basset.pics.top_snp`, for the target it changes most (``top_target``).
    Returns ``(ref_map, alt_map, title)`` for :func:`basset.plots.mutagenesis.fig_satmut` (the central
    ``window`` bp, the SNP marked)."""
    names = list(target_names)
    top, pics = top_snp(sad_table, pics_df, high)
    t = names.index(str(top["top_target"]))
    L = input_length(model, seq_len)
    one = pd.DataFrame({"chrom": [str(top["chrom"])], "pos": [int(top["pos"])], "ref": [str(top["ref"])],
                        "alt": [str(top["alt"])]})
    if isinstance(genome, Genome):
        vs = variant_sequences(genome, one, L)
    else:
        with Genome(genome) as g:
            vs = variant_sequences(g, one, L)
    if not vs.kept[0]:
        raise ValueError(f"the top SNP {top['id']} could not be re-read from the genome ({vs.status[0]})")
    window = min(int(window), L)
    lo = L // 2 - window // 2
    maps = []
    for label, codes in ((f"reference {vs.ref_allele[0]}", vs.ref), (f"alternative {vs.alt_allele[0]}", vs.alt)):
        probs = ism(model, codes, lo, lo + window, rc_average=rc_average, device=device)
        maps.append(satmut_map(probs, codes[0, lo : lo + window], t, start=int(top["pos"]) - (L // 2 - lo),
                               label=f"{label} ({names[t]})", mark=L // 2 - lo))
    title = (f"{top['id']} {top['chrom']}:{int(top['pos'])} {top['ref']}>{top['alt']}, PICS "
             f"{pics:.2f}, SAD in {names[t]} = {top[names[t]]:+.3f}")
    return maps[0], maps[1], title


# --------------------------------------------------------------------------------------- select_pics_variants
def select_pics_variants(pics, *, out: dict, source: str, progress: bool = False, timeout: float = 60) -> dict:
    """Rule select_pics_variants: the records of the SNPs of the PICS table ``pics`` (which has no alleles)
    from the sites VCF ``source`` (dbSNP, 1000 Genomes; a URL or a local file, streamed, never stored whole),
    written as the gzipped VCF ``out["vcf"]`` for score_snps. ``out["summary"]``, when given, gets the counts
    of :func:`basset.pics.select_vcf_records` (records read and kept, PICS SNPs found and not found), which it
    returns."""
    summary = select_vcf_records(source, out["vcf"], read_pics(pics), progress=progress, timeout=timeout)
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary
