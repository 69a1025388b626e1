"""A learned edge filter: the cheap second stage of graph construction (ACORN's "filter").

A module map (or a metric-learning radius graph) keeps nearly every true segment but also
10-30 fake edges per hit. The filter is a small MLP on the geometry of each edge (the two
hits' positions and the pair features of :func:`~hepgraph.represent.module_map.pair_features`)
trained on the training split to tell true segments from the rest; its threshold is the
score that keeps a chosen fraction (``keep``, e.g. 0.999) of the true segments of held-out
events. The graph passed to the GNN is what survives.

Shapes:
    - **input:** pos (N, 3) mm, edge_index (2, E)  - **output:** (E,) logits
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hepgraph.represent.module_map import pair_features

#: Edge features (see :func:`edge_features`).
NUM_FEATURES = 12


def edge_features(pos: Tensor, edge_index: Tensor) -> Tensor:
    """(E, 12) geometric features of edges a -> b (raw; standardised by the filter).

    r, z of both hits (mm), Δφ, Δz, Δr, z0 (clipped to 1e4 mm), the 3D length, the angle of
    the segment to the beam axis, and the cos/sin of the angle between the segment's
    transverse direction and hit a's azimuth.
    """
    a, b = pos[edge_index[0]].double(), pos[edge_index[1]].double()
    f = pair_features(a, b)
    d = b - a
    ra, rb = torch.hypot(a[:, 0], a[:, 1]), torch.hypot(b[:, 0], b[:, 1])
    dt = torch.hypot(d[:, 0], d[:, 1])
    length = d.norm(dim=1)
    theta = torch.atan2(dt, d[:, 2])
    phi_a = torch.atan2(a[:, 1], a[:, 0])
    rel = torch.atan2(d[:, 1], d[:, 0]) - phi_a
    return torch.stack([ra, a[:, 2], rb, b[:, 2], f[:, 0], f[:, 1], f[:, 2], f[:, 3].clamp(-1e4, 1e4),
                        length, theta, torch.cos(rel), torch.sin(rel)], 1).float()


class EdgeFilter(nn.Module):
    """MLP edge classifier on edge geometry, with stored standardisation and threshold.

    Args:
        hidden_channels: width of the two hidden layers.

    Shapes:
        - **input:** pos (N, 3), edge_index (2, E)  - **output:** (E,) logits
    """

    def __init__(self, hidden_channels: int = 64) -> None:
        super().__init__()
        h = hidden_channels
        self.hidden_channels = h
        self.net = nn.Sequential(nn.Linear(NUM_FEATURES, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
        self.register_buffer("mean", torch.zeros(NUM_FEATURES))
        self.register_buffer("std", torch.ones(NUM_FEATURES))
        self.register_buffer("threshold", torch.tensor(-math.inf))

    def extra_repr(self) -> str:
        return f"hidden_channels={self.hidden_channels}, threshold={float(self.threshold):.3g}"

    def forward(self, pos: Tensor, edge_index: Tensor) -> Tensor:
        """(E,) logits of the edges."""
        x = (edge_features(pos, edge_index) - self.mean) / self.std
        return self.net(x).squeeze(1)

    def select(self, pos: Tensor, edge_index: Tensor) -> Tensor:
        """The edges whose logit passes the stored threshold."""
        if edge_index.shape[1] == 0 or not math.isfinite(float(self.threshold)):
            return edge_index
        with torch.no_grad():
            keep = self(pos, edge_index) > self.threshold
        return edge_index[:, keep]

    def fit(self, samples: list[tuple[Tensor, Tensor, Tensor]], held_out: list[tuple[Tensor, Tensor, Tensor]],
            *, keep: float = 0.999, epochs: int = 4, batch: int = 32768, lr: float = 2e-3, seed: int = 0) -> dict[str, float]:
        """Train on ``(pos, edge_index, is_true)`` samples; set the threshold on ``held_out``.

        Args:
            samples: training events as (pos (N, 3), edges (2, E), truth (E,) bool).
            held_out: events for the threshold (true-segment efficiency ``keep``).
            keep: fraction of true held-out edges the threshold keeps.
            epochs: passes over the training edges.
            batch: edges per step.
            lr: Adam learning rate.
            seed: seed of the shuffling.

        Returns:
            ``{"keep", "threshold", "edge_efficiency", "edge_purity", "edges_before", "edges_after"}``
            measured on ``held_out``.
        """
        x = torch.cat([edge_features(p, e) for p, e, _ in samples])
        y = torch.cat([t.float() for _, _, t in samples])
        self.mean = x.mean(0)
        self.std = x.std(0).clamp(min=1e-6)
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        pos_w = ((y.numel() - y.sum()) / y.sum().clamp(min=1)).clamp(max=50.0)
        xs = (x - self.mean) / self.std
        self.train()
        for _ in range(epochs):
            perm = torch.randperm(y.numel(), generator=g)
            for i in range(0, y.numel(), batch):
                idx = perm[i:i + batch]
                out = self.net(xs[idx]).squeeze(1)
                loss = nn.functional.binary_cross_entropy_with_logits(out, y[idx], pos_weight=pos_w)
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.eval()
        with torch.no_grad():
            logits = torch.cat([self(p, e) for p, e, _ in held_out])
        truth = torch.cat([t for _, _, t in held_out])
        if truth.any():
            self.threshold = torch.quantile(logits[truth].double(), 1.0 - keep).float()
        kept = logits > self.threshold
        return {"keep": keep, "threshold": float(self.threshold),
                "edge_efficiency": float(kept[truth].float().mean()) if truth.any() else float("nan"),
                "edge_purity": float(truth[kept].float().mean()) if kept.any() else float("nan"),
                "edges_before": float(truth.numel()), "edges_after": float(kept.sum())}
