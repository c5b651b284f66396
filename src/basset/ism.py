"""In-silico saturation mutagenesis (ISM) of a :class:`~basset.models.BassetNet`.

For each sequence, each position ``p`` of a window ``[start, end)`` and each base ``b`` of A,C,G,T the
model predicts the sequence with base ``p`` replaced by ``b`` (Basset Figure 4). Results are
``(N, L_win, 4, T) float32`` probabilities (sigmoid of the logits); the entry of the reference base is the
prediction for the unmutated sequence. At an N (an all-zero one-hot column) all four bases are mutations.

:func:`ism_naive` runs the whole model on every mutant. :func:`ism` gives the same numbers (up to float32
rounding, ~1e-6) much faster, in the spirit of fastISM (Nair et al., Bioinformatics 2022): a single-base
change only alters a bounded window of every conv layer, so only that window is recomputed on top of the
cached reference activations. Beyond fastISM, the change itself is what is propagated through the linear
steps: the change of a convolution's output is the convolution of its input's change, which is zero outside
a few positions. For the first layer it is a difference of two kernel columns (``W[:, b, k] - W[:, ref, k]``,
a table look-up); for deeper layers a transposed convolution of the ``V`` changed input positions,
``V * w * C * F`` multiply-adds, about a third of a convolution over the ``V + w - 1`` outputs it
changes. The non-linear steps (batch norm's affine map, ReLU, max-pooling) are applied to the reference's
pre-activation plus the change on the pool-aligned window only. The first dense layer likewise adds the
change of the last conv window times its block of weights to the reference's output; the later dense
layers run in full (they are small). For the Basset preset that is about 8 M multiply-adds per mutant
against 163 M for a forward pass.

:func:`loss_gain` reduces ISM to the per-position loss and gain scores of Basset Figure 4B; :func:`delta`
gives the heat-map values of Figure 4A; :func:`satmut_map` bundles both for one sequence's figure.

We wrote our own rather than call tangermeme's ``saturation_mutagenesis(fast=True)``: propagating changes
instead of recomputing windows makes it about twice as fast on the Basset preset, and it needs no extra
dependency (benchmarks/bench_satmut.py compares the two and the naive loop, and checks that all agree).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .logs import progress_bar
from .models import conv_padding, eval_mode, fill_n, unwrap
from .sequence import N_CODE, one_hot, reverse_complement

log = logging.getLogger("basset.ism")

#: Reference activations cached at once are capped near this many float32 values (the sequences of a
#: group; ~300k per 600 bp sequence for the Basset preset).
_CACHE_FLOATS = 1 << 25


# --------------------------------------------------------------------------------------------- helpers
def _as_codes(codes) -> torch.Tensor:
    """``(N, L)`` codes (numpy or torch) -> ``(N, L) uint8`` torch on the CPU."""
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu()
    else:
        codes = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.uint8))
    if codes.ndim != 2:
        raise ValueError(f"expected (N, L) codes, got shape {tuple(codes.shape)}")
    if codes.numel() and int(codes.max()) > N_CODE:
        raise ValueError(f"codes must be 0..{N_CODE} (A,C,G,T,N), got {int(codes.max())}")
    return codes.to(torch.uint8)


def _window(length: int, start: int | None, end: int | None) -> tuple[int, int]:
    start = 0 if start is None else int(start)
    end = length if end is None else int(end)
    if not 0 <= start < end <= length:
        raise ValueError(f"expected 0 <= start < end <= {length} (0-based, half-open), got [{start}, {end})")
    return start, end


def _mutants(ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every true substitution of window codes ``ref (N, L_win)``: ``(seq, window position, base)``, each
    ``(M,) int64``, sorted by sequence, position, base. The reference base is left out (its prediction is
    the reference's); at N all four bases are substitutions."""
    mask = ref.long()[:, :, None] != torch.arange(4)
    return mask.nonzero(as_tuple=True)


def _with_rc(run, codes: torch.Tensor, start: int, end: int, rc_average: bool) -> np.ndarray:
    """``run(codes, start, end)`` averaged, on request, with its run on the reverse complement mapped back
    (RC position ``L-1-p`` is forward ``p``; RC base ``3-b`` is forward ``b``)."""
    out = run(codes, start, end)
    if rc_average:
        L = codes.shape[1]
        rc = run(reverse_complement(codes), L - end, L - start)
        out += rc[:, ::-1, ::-1]
        out *= 0.5
    return out


# ------------------------------------------------------------------------------------------ naive ISM
def ism_naive(model: nn.Module, codes, start: int | None = None, end: int | None = None,
              rc_average: bool = False, batch_size: int = 256, device="cpu", progress: bool = False) -> np.ndarray:
    """Saturation mutagenesis by running the whole model on every mutant (the reference implementation).

    Parameters: ``codes (N, L) uint8`` (A,C,G,T,N = 0..4, numpy or torch); the window ``[start, end)`` of
    positions to mutate (0-based, half-open; default the whole sequence); ``rc_average`` as in :func:`ism`;
    ``batch_size`` mutants per forward pass; ``progress`` shows a progress bar. Any model mapping
    ``(B, 4, L)`` one-hot to ``(B, T)`` logits works. It is moved to ``device`` and run in eval mode; its
    training flag is restored.

    Returns ``(N, end - start, 4, T) float32`` probabilities: ``[n, i, b, t]`` is target ``t`` for sequence
    ``n`` with base ``start + i`` set to ``b`` (A,C,G,T = 0..3).
    """
    codes = _as_codes(codes)
    start, end = _window(codes.shape[1], start, end)
    net = unwrap(model)
    net.to(device)

    def run(codes, start, end):
        n, q, b = _mutants(codes[:, start:end])
        x_ref = one_hot(codes.to(device), dtype=next(net.parameters()).dtype)
        with eval_mode(net), torch.inference_mode():
            ref = [torch.sigmoid(net(x_ref[i : i + batch_size]).float()).cpu()
                   for i in range(0, codes.shape[0], batch_size)]
            n_targets = ref[0].shape[1] if ref else net(x_ref.new_zeros(1, 4, codes.shape[1])).shape[1]
            out = np.empty((codes.shape[0], end - start, 4, n_targets), np.float32)
            if ref:
                torch.from_numpy(out)[:] = torch.cat(ref)[:, None, None, :]
            bar = progress_bar(n.shape[0], progress, "ISM (naive)", "mutant")
            for lo in range(0, n.shape[0], batch_size):  # batches of mutants
                nb, qb, bb = n[lo : lo + batch_size], q[lo : lo + batch_size], b[lo : lo + batch_size]
                x = x_ref[nb.to(device)]
                rows, pos = torch.arange(x.shape[0], device=device), (qb + start).to(device)
                x[rows, :, pos] = 0.0
                x[rows, bb.to(device), pos] = 1.0
                torch.from_numpy(out)[nb, qb, bb] = torch.sigmoid(net(x).float()).cpu()
                bar.update(nb.shape[0])
            bar.close()
        return out

    return _with_rc(run, codes, start, end, rc_average)


# ------------------------------------------------------------------------------------------- fast ISM
#: A batch whose mutants' last-layer windows start at more than this many places (runs of equal starts) feeds
#: the first dense layer the full flattened vector instead of one small GEMM per start (see _Dense).
_MAX_WINDOW_RUNS = 16

#: The three substitutions of each reference base (A,C,G,T = 0..3).
_ALTERNATIVES = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


@dataclass
class _Layer:
    """One conv block, reduced to what ISM needs; see :func:`_layers`."""

    conv: nn.Conv1d
    bn: nn.BatchNorm1d | None
    width: int  # kernel width w
    left: int  # zero padding on the left (output i reads inputs i - left .. i - left + w - 1)
    right: int
    pool: int  # max-pool kernel = stride; 1 = none
    ceil: bool  # ceil mode: a last partial pool window gives an output (its missing positions count as -inf)
    kernel: torch.Tensor  # (C, w, F): s_f * W[f, c, w - 1 - u], the flipped kernel with BN's scale folded in
    deconv: torch.Tensor  # (C, F, w): kernel as the weight of a transposed convolution (of a change)


@dataclass
class _Geometry:
    """Lengths of one conv block for one input length (in positions of that block)."""

    L_conv: int  # conv output length
    L_out: int  # after pooling
    U: int  # width of the conv-output change caused by a changed input window
    P: int  # width of the pooled window recomputed for each mutant (P * pool conv positions)


def _layers(net: nn.Module) -> list[_Layer]:
    """Parse ``net.conv`` (BassetNet blocks: Conv1d, [BatchNorm1d], ReLU, [MaxPool1d], [Dropout]).

    ``kernel[c, u, f] = s_f * W[f, c, w - 1 - u]``: a change ``e`` of input position ``t`` changes conv output
    ``t + u - (w - 1 - left)`` by ``kernel[:, u] . e``. ``s`` is batch norm's eval-mode scale
    ``gamma / sqrt(var + eps)`` (1 without BN): BN is affine in eval mode, so a change ``D`` of the conv output
    changes the BN output by ``s * D``.
    """
    if not hasattr(net, "conv") or not hasattr(net, "dense") or not hasattr(net, "output"):
        raise TypeError(f"expected a BassetNet (conv, dense, output), got {type(net).__name__}")
    layers = []
    for i, block in enumerate(net.conv):
        mods = [m for m in block if not isinstance(m, (nn.Dropout, nn.Identity))]
        conv, bn, pool, ceil = mods[0], None, 1, False
        rest = mods[1:]
        if rest and isinstance(rest[0], nn.BatchNorm1d):
            bn, rest = rest[0], rest[1:]
        if rest and isinstance(rest[0], nn.ReLU):
            rest = rest[1:]
        else:
            raise NotImplementedError(f"conv block {i}: expected ReLU after the convolution")
        if rest and isinstance(rest[0], nn.MaxPool1d):
            mp, rest = rest[0], rest[1:]
            k, s = int(np.ravel(mp.kernel_size)[0]), int(np.ravel(mp.stride)[0])
            if k != s or int(np.ravel(mp.padding)[0]) or int(np.ravel(mp.dilation)[0]) != 1:
                raise NotImplementedError(f"conv block {i}: only MaxPool1d(k) with stride k, no padding")
            pool, ceil = k, bool(mp.ceil_mode)
        if not isinstance(conv, nn.Conv1d) or rest:
            raise NotImplementedError(f"conv block {i}: unsupported layers {[type(m).__name__ for m in mods]}")
        if conv.stride != (1,) or conv.dilation != (1,) or conv.groups != 1 or conv.padding_mode != "zeros":
            raise NotImplementedError(f"conv block {i}: only stride 1, dilation 1, groups 1, zero padding")
        w = conv.kernel_size[0]
        left, right = conv_padding(conv)
        W = conv.weight.detach()  # (F, C, w), in the model's dtype like the cached activations
        scale = torch.ones_like(W[:, 0, 0])
        if bn is not None:
            scale = (bn.weight.detach() / torch.sqrt(bn.running_var.detach() + bn.eps)).to(W.dtype)
        kernel = (W * scale[:, None, None]).flip(-1).permute(1, 2, 0).contiguous()
        layers.append(_Layer(conv, bn, w, left, right, pool, ceil, kernel, kernel.permute(0, 2, 1).contiguous()))
    return layers


def _geometry(layers: list[_Layer], length: int) -> list[_Geometry]:
    geo, L, V = [], length, 1  # V: width of the changed input window (one base at layer 0)
    for layer in layers:
        L_conv = L + layer.left + layer.right - layer.width + 1
        L_out = -(-L_conv // layer.pool) if layer.ceil else L_conv // layer.pool
        if L_out < 1:
            raise ValueError(f"input of {length} bp is too short for the model's conv/pool stack")
        U = V + layer.width - 1
        # a run of U conv positions touches at most this many pool windows (the worst alignment)
        P = min(L_out, (U + layer.pool - 2) // layer.pool + 1)
        geo.append(_Geometry(L_conv, L_out, U, P))
        L, V = L_out, P
    return geo


def _first_layer_table(layer: _Layer, g: _Geometry, n_fill: float = 0.0) -> torch.Tensor:
    """``(5, w + Wc + 1, Wc, F)`` conv-output changes of layer 0 over a window of ``Wc = P * pool`` positions:
    ``[c, s + Wc, k]`` is the change at window position ``k`` from a one-hot column ``c`` (row N: ``n_fill``
    times the sum of the four bases' rows, 0 unless the model fills N, :func:`basset.models.fill_n`) whose
    change starts ``s`` positions before the window (``s = window start - first changed position``). Every
    ``s`` outside ``[-Wc, w]`` gives an all-zero window, so it is clamped into that range."""
    Wc = g.P * layer.pool
    padded = F.pad(layer.kernel, (0, 0, Wc, Wc))  # (4, w + 2 Wc, F)
    padded = torch.cat([padded, n_fill * padded.sum(0, keepdim=True)])  # N
    return padded.unfold(1, Wc, 1).permute(0, 1, 3, 2).contiguous()


class _Dense:
    """The dense head as ``first Linear`` then ``rest``. The first Linear of a mutant is the reference's
    plus the weights of the changed window times its change: the window of ``P`` last-layer positions
    starting at ``j0`` is a contiguous block of ``weight_by_position (L_f, F, H)``, so each run of mutants with
    the same ``j0`` costs one ``(rows, P * F) @ (P * F, H)`` GEMM instead of ``(rows, L_f * F) @ (L_f * F, H)``.
    """

    def __init__(self, net: nn.Module, n_filters: int, L_f: int):
        mods = [m for m in [*net.dense, net.output] if not isinstance(m, (nn.Flatten, nn.Identity, nn.Dropout))]
        first = mods[0]
        if not isinstance(first, nn.Linear) or first.in_features != n_filters * L_f:
            raise NotImplementedError("expected the flattened conv output to feed a Linear layer")
        self.first, self.rest = first, mods[1:]
        # the model flattens (F, L_f) channel-major: column f * L_f + j
        W = first.weight.detach().view(-1, n_filters, L_f)
        self.weight_by_position = W.permute(2, 1, 0).contiguous()  # (L_f, F, H)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The layers after the first Linear, on ``(..., H)`` (flattened to 2-D for batch norm)."""
        shape = h.shape[:-1]
        h = h.reshape(-1, h.shape[-1])
        for mod in self.rest:
            h = mod(h)
        return h.view(*shape, -1)


def _reference(layers: list[_Layer], dense: _Dense, x: torch.Tensor, n_fill: float = 0.0):
    """Run the model on one-hot ``x (G, 4, L)``: per conv layer, channels last, ``(pre-ReLU after BN
    (G, L_conv, F), pooled output (G, L_out, F))``; the first dense layer's output ``(G, H)``; logits ``(G, T)``."""
    cache = []
    x = fill_n(x, n_fill)
    for layer in layers:
        z = layer.conv(x)
        if layer.bn is not None:
            z = layer.bn(z)
        x = torch.relu(z)
        if layer.pool > 1:
            x = F.max_pool1d(x, layer.pool, ceil_mode=layer.ceil)
            short = x.shape[-1] * layer.pool - z.shape[-1]
            if short > 0:  # ceil mode: -inf conv outputs complete the last window (ReLU makes them 0, as absent)
                z = F.pad(z, (0, short), value=float("-inf"))
        cache.append((z.transpose(1, 2).contiguous(), x.transpose(1, 2).contiguous()))
    h = dense.first(x.flatten(1))
    return cache, h, dense.head(h)


def _delta_conv(d: torch.Tensor, deconv: torch.Tensor) -> torch.Tensor:
    """Change of a conv output from a change ``d (B, V, C)`` of ``V`` consecutive input positions:
    ``(B, V + w + 1, F)``, the ``V + w - 1`` changed outputs with a zero on each side (for clamped gathers).

    A transposed convolution of the V changed positions (V * w * C * F multiply-adds, not the
    (V + w - 1) * w * C * F of a convolution over the outputs).
    """
    D = F.conv_transpose1d(d.transpose(1, 2), deconv)  # (B, F, V + w - 1)
    return F.pad(D, (1, 1)).transpose(1, 2)


def _fast_batch(plan, cache, h_ref, n, pos, ref_base, alts) -> torch.Tensor:
    """Logits ``(Bp, A, T)`` of the mutants of ``Bp`` positions: sequence ``n`` of the cached group, ``pos``
    (0-based in the sequence), reference base ``ref_base`` (4 = N), substituted bases ``alts (Bp, A)``.

    Each mutant's change is followed through the conv stack on the pool-aligned window of ``P`` pooled
    positions that holds it; everything that only depends on the position (window starts, the reference's
    windows) is computed once for the A substitutions.
    """
    layers, geo, dense = plan["layers"], plan["geo"], plan["dense"]
    Bp, A = alts.shape
    dev = n.device
    rows = n[:, None]
    j0 = d = None  # the previous layer's window start (Bp,) and change (Bp, A, P, F)
    for i, (layer, g) in enumerate(zip(layers, geo)):
        z_ref, pooled_ref = cache[i]
        Fn, p = z_ref.shape[2], layer.pool
        if i == 0:
            o = pos + layer.left - layer.width + 1  # first conv output the substitution reaches
        else:
            o = j0 + layer.left - layer.width + 1  # first conv output the previous window reaches
        # pool-aligned window of P pooled positions covering the change, shifted inside at the edges
        j0 = torch.div(o, p, rounding_mode="floor").clamp_(0, g.L_out - g.P)
        conv_pos = j0[:, None] * p + torch.arange(g.P * p, device=dev)  # (Bp, Wc)
        z_win = z_ref[rows, conv_pos]  # (Bp, Wc, F)
        if i == 0:
            table = plan["table0"]
            s = (j0 * p - o + g.P * p).clamp_(0, table.shape[1] - 1)
            z_win -= table[ref_base, s]  # the reference base's own contribution, once per position
            a = table[alts, s[:, None]]  # (Bp, A, Wc, F)
            a += z_win[:, None]
        else:
            D = _delta_conv(d.view(Bp * A, *d.shape[2:]), layer.deconv).view(Bp, A, g.U + 2, Fn)
            idx = (conv_pos - o[:, None] + 1).clamp_(0, g.U + 1)
            a = D.gather(2, idx[:, None, :, None].expand(Bp, A, -1, Fn))
            a += z_win[:, None]
        if p > 1:
            a = a.view(Bp, A, g.P, p, Fn).amax(3)
        a = a.relu_()  # after pooling: max and ReLU commute
        out_pos = j0[:, None] + torch.arange(g.P, device=dev)
        d = a - pooled_ref[rows, out_pos][:, None]  # (Bp, A, P, F): zero where the change did not reach
    return _dense_batch(dense, cache[-1][1], h_ref, n, j0, d)


def _dense_batch(dense: _Dense, pooled_ref, h_ref, n, j0, d) -> torch.Tensor:
    """Logits ``(Bp, A, T)`` from the change ``d (Bp, A, P, F)`` of the last conv layer's window at ``j0``."""
    Bp, A, P, Fn = d.shape
    starts, counts = torch.unique_consecutive(j0, return_counts=True)
    if starts.shape[0] <= _MAX_WINDOW_RUNS:
        h = h_ref[n][:, None].repeat(1, A, 1)  # (Bp, A, H)
        lo = 0
        for start, count in zip(starts.tolist(), counts.tolist()):  # runs of one window start (a handful)
            weight = dense.weight_by_position[start : start + P].view(P * Fn, -1)
            h[lo : lo + count].view(count * A, -1).addmm_(d[lo : lo + count].view(count * A, P * Fn), weight)
            lo += count
    else:  # many short runs (little pooling): one GEMM on the full flattened vectors
        full = pooled_ref[n][:, None].repeat(1, A, 1, 1)  # (Bp, A, L_f, F)
        win = (j0[:, None] + torch.arange(P, device=d.device))[:, None, :, None].expand(Bp, A, P, Fn)
        full.scatter_add_(2, win, d)
        h = dense.first(full.transpose(2, 3).reshape(Bp, A, -1))
    return dense.head(h)


def _plan(net: nn.Module, length: int) -> dict:
    layers = _layers(net)
    geo = _geometry(layers, length)
    n_fill = float(getattr(net, "n_fill", 0.0))
    return {"layers": layers, "geo": geo, "table0": _first_layer_table(layers[0], geo[0], n_fill), "n_fill": n_fill,
            "dense": _Dense(net, layers[-1].kernel.shape[2], geo[-1].L_out)}


def ism(model: nn.Module, codes, start: int | None = None, end: int | None = None, rc_average: bool = False,
        batch_size: int = 1024, device="cpu", progress: bool = False) -> np.ndarray:
    """Fast saturation mutagenesis: same result as :func:`ism_naive` (to float32 rounding), recomputing
    only the window of each conv layer that a substitution changes (see the module docstring).

    Parameters: ``codes (N, L) uint8`` (A,C,G,T,N = 0..4, numpy or torch); the window ``[start, end)`` of
    positions to mutate (0-based, half-open; default the whole sequence); ``rc_average``: average with the
    ISM of the reverse complement mapped back to forward positions and bases (Basset's ``-rc``);
    ``batch_size`` mutants per step (the 3 substitutions of a position stay together; ~50 kB of
    temporaries each for the Basset preset); ``progress`` shows a progress bar. The model (a
    :class:`~basset.models.BassetNet`: Conv1d, [BatchNorm1d], ReLU, [MaxPool1d], [Dropout] blocks, then Linear
    layers) is moved to ``device`` and run in eval mode; its training flag is restored. Other architectures
    raise NotImplementedError: use :func:`ism_naive`.

    Returns ``(N, end - start, 4, T) float32`` probabilities: ``[n, i, b, t]`` is target ``t`` for sequence
    ``n`` with base ``start + i`` set to ``b`` (A,C,G,T = 0..3); the reference base's entry is the
    unmutated sequence's prediction.
    """
    codes = _as_codes(codes)
    start, end = _window(codes.shape[1], start, end)
    net = unwrap(model)
    net.to(device)
    t0 = time.perf_counter()
    positions = max(1, batch_size // 3)
    n_mutants = (3 * (end - start) * codes.shape[0] + int((codes[:, start:end] == N_CODE).sum())) * (1 + rc_average)
    bar = progress_bar(n_mutants, progress, "ISM", "mutant")
    with eval_mode(net), torch.inference_mode():
        plan = _plan(net, codes.shape[1])
        per_seq = sum((g.L_conv + g.L_out) * layer.kernel.shape[2] for layer, g in zip(plan["layers"], plan["geo"]))
        group = max(1, _CACHE_FLOATS // per_seq)
        alternatives = _ALTERNATIVES.to(device)

        def run(codes, start, end):
            out = np.empty((codes.shape[0], end - start, 4, net.output.out_features), np.float32)
            for g0 in range(0, codes.shape[0], group):  # groups of sequences whose activations are cached
                seqs = codes[g0 : g0 + group].to(device)
                x = one_hot(seqs, dtype=plan["layers"][0].kernel.dtype)
                cache, h_ref, logits = _reference(plan["layers"], plan["dense"], x, plan["n_fill"])
                ref_probs = torch.sigmoid(logits.float()).cpu()
                torch.from_numpy(out)[g0 : g0 + seqs.shape[0]] = ref_probs[:, None, None, :]
                ref = seqs[:, start:end].long()
                # ACGT positions (3 substitutions each), then N positions (4 each)
                for is_n, step in ((False, positions), (True, max(1, batch_size // 4))):
                    n, q = (ref == N_CODE).eq(is_n).nonzero(as_tuple=True)
                    for lo in range(0, n.shape[0], step):  # batches of positions, across sequences
                        nb, qb = n[lo : lo + step], q[lo : lo + step]
                        rb = ref[nb, qb]
                        alts = torch.arange(4, device=device).expand(nb.shape[0], 4) if is_n else alternatives[rb]
                        logits = _fast_batch(plan, cache, h_ref, nb, qb + start, rb, alts)
                        probs = torch.sigmoid(logits.float()).cpu()
                        nb, qb, alts = nb.cpu() + g0, qb.cpu(), alts.cpu()
                        torch.from_numpy(out)[nb[:, None], qb[:, None], alts] = probs
                        bar.update(alts.numel())
            return out

        out = _with_rc(run, codes, start, end, rc_average)
    bar.close()
    log.info("ISM of %d sequences x %d positions in %.1f s (rc_average=%s)", codes.shape[0], end - start,
             time.perf_counter() - t0, rc_average)
    return out


# ------------------------------------------------------------------------------------------- summaries
def reference_probs(ism_probs: np.ndarray, codes, start: int | None = None) -> np.ndarray:
    """The unmutated sequences' predictions ``(N, T)`` read back from ISM output ``(N, L_win, 4, T)``.

    Taken at the first non-N position of each window (NaN for a window of only N)."""
    ism_probs = np.asarray(ism_probs)
    ref = _window_codes(codes, start, ism_probs.shape[1])
    known = ref < 4
    first = known.argmax(1)
    rows = np.arange(ism_probs.shape[0])
    out = ism_probs[rows, first, np.minimum(ref[rows, first], 3)].astype(np.float32)
    out[~known.any(1)] = np.nan
    return out


def _window_codes(codes, start: int | None, width: int) -> np.ndarray:
    codes = _as_codes(codes).numpy()
    start = 0 if start is None else int(start)
    if start < 0 or start + width > codes.shape[1]:
        raise ValueError(f"window [{start}, {start + width}) outside sequences of {codes.shape[1]} bp")
    return codes[:, start : start + width].astype(np.int64)


def loss_gain(ism_probs: np.ndarray, codes, start: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-position loss and gain scores (Basset Figure 4B) from ISM probabilities.

    ``ism_probs (N, L_win, 4, T)`` as returned by :func:`ism` for ``codes (N, L)`` and window start
    ``start`` (default 0). With ``ref`` the prediction of the reference base at that position,
    ``loss = max(0, ref - min over the 3 other bases)`` (the largest drop any substitution causes) and
    ``gain = max(0, max over the 3 other bases - ref)`` (the largest rise); both are 0 when no
    substitution moves the prediction in that direction.

    At an N there is no reference base to substitute, so both scores are 0 there (no evidence, rather than
    NaN, so that averages and plots over positions need no masking).

    Returns ``(loss, gain)``, each ``(N, L_win, T) float32``.
    """
    ism_probs = np.asarray(ism_probs, dtype=np.float32)
    if ism_probs.ndim != 4 or ism_probs.shape[2] != 4:
        raise ValueError(f"expected ISM probabilities (N, L_win, 4, T), got shape {ism_probs.shape}")
    ref_codes = _window_codes(codes, start, ism_probs.shape[1])
    if ref_codes.shape[0] != ism_probs.shape[0]:
        raise ValueError(f"{ref_codes.shape[0]} sequences but ISM for {ism_probs.shape[0]}")
    is_n = ref_codes == N_CODE
    base = np.where(is_n, 0, ref_codes)
    ref = np.take_along_axis(ism_probs, base[:, :, None, None], axis=2)[:, :, 0]  # (N, L_win, T)
    # the min (max) over all four bases: the reference base itself gives ref - ref = 0, which max(0, .) gives
    # anyway, so leaving it in changes nothing and needs no mask
    lowest, highest = ism_probs.min(2), ism_probs.max(2)
    loss = np.maximum(ref - lowest, 0.0)
    gain = np.maximum(highest - ref, 0.0)
    loss[is_n] = 0.0
    gain[is_n] = 0.0
    return loss.astype(np.float32), gain.astype(np.float32)


def delta(ism_probs: np.ndarray, ref_probs: np.ndarray) -> np.ndarray:
    """Heat-map values of Basset Figure 4A: ``mutant - reference``, ``(N, L_win, 4, T) float32``, for
    ``ism_probs (N, L_win, 4, T)`` and the unmutated predictions ``ref_probs (N, T)`` (e.g. from
    :func:`reference_probs` or :func:`basset.predict.predict_codes` without ``rc_average``)."""
    ism_probs = np.asarray(ism_probs, dtype=np.float32)
    ref_probs = np.asarray(ref_probs, dtype=np.float32)
    if ref_probs.shape != (ism_probs.shape[0], ism_probs.shape[3]):
        raise ValueError(f"expected reference probabilities {(ism_probs.shape[0], ism_probs.shape[3])}, "
                         f"got {ref_probs.shape}")
    return ism_probs - ref_probs[:, None, None, :]


# ------------------------------------------------------------------------------------------ one map
def satmut_map(ism_probs: np.ndarray, codes, target: int, start: int = 0, label: str = "",
               mark: int | None = None) -> dict:
    """One sequence's map for :func:`basset.plots.mutagenesis.fig_satmut`: ``codes`` of the window, ``delta
    (W, 4)``, ``loss``/``gain`` ``(W,)`` for target index ``target``, from ISM output ``(1, W, 4, T)`` of a
    window whose codes are ``codes (W,)``."""
    codes = np.asarray(codes, dtype=np.uint8).reshape(1, -1)
    ref = reference_probs(ism_probs, codes)
    loss, gain = loss_gain(ism_probs, codes)
    d = delta(ism_probs, ref)
    return {"codes": codes[0], "delta": d[0, :, :, target], "loss": loss[0, :, target],
            "gain": gain[0, :, target], "start": start, "label": label, "mark": mark}


