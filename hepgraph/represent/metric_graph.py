"""Graph construction by metric learning: an MLP embedding and a radius graph in it.

As the Exa.TrkX / ACORN metric-learning stage: an MLP maps each hit's geometry to a
``emb_dim``-dimensional space, trained on the training split so that hits of one
particle that follow each other (truth segments, up to one hit skipped) lie close and
other pairs lie at least ``margin`` apart (hinge loss on squared distances, with random
and nearest-neighbour "hard" negatives). The graph links hits closer than a radius chosen
on held-out events so that a fraction ``efficiency`` of their true segments is inside it,
at most ``max_neighbors`` per hit. Edges point away from the origin (a convention for the
message passing, not an assumption about the tracks).

Shapes:
    - **input:** pos (N, 3) mm, ptr (B+1,)  - **output:** (2, E) edges
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.errors import DataError
from hepgraph.represent.module_map import event_vertex, hit_order, truth_segments
from hepgraph.represent.neighbors import knn_graph, radius_graph

NUM_INPUTS = 6


def hit_inputs(pos: Tensor) -> Tensor:
    """(N, 6) raw embedding inputs: x, y, z, r (mm), cos φ, sin φ."""
    r = torch.hypot(pos[:, 0], pos[:, 1])
    phi = torch.atan2(pos[:, 1], pos[:, 0])
    return torch.stack([pos[:, 0], pos[:, 1], pos[:, 2], r, torch.cos(phi), torch.sin(phi)], 1).float()


class MetricGraph(nn.Module):
    """Learned embedding + radius graph (see the module docstring).

    Args:
        emb_dim: embedding dimension.
        hidden_channels: MLP width (3 hidden layers).
        margin: negatives are pushed this far apart (embedding units).
        efficiency: fraction of held-out true segments inside the chosen radius.
        max_neighbors: most neighbours per hit in the radius graph.
        epochs: passes over the training events.
        lr: Adam learning rate.
    """

    layer_columns: tuple[str, ...] = ()

    def __init__(self, emb_dim: int = 8, hidden_channels: int = 128, margin: float = 1.0,
                 efficiency: float = 0.995, max_neighbors: int = 32, epochs: int = 10, lr: float = 2e-3) -> None:
        super().__init__()
        h = hidden_channels
        self.emb_dim, self.hidden_channels, self.margin = int(emb_dim), h, float(margin)
        self.efficiency, self.max_neighbors = float(efficiency), int(max_neighbors)
        self.epochs, self.lr = int(epochs), float(lr)
        self.net = nn.Sequential(nn.Linear(NUM_INPUTS, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                                 nn.Linear(h, h), nn.ReLU(), nn.Linear(h, emb_dim))
        self.register_buffer("mean", torch.zeros(NUM_INPUTS))
        self.register_buffer("std", torch.ones(NUM_INPUTS))
        self.register_buffer("radius", torch.tensor(0.0))

    def extra_repr(self) -> str:
        return f"emb_dim={self.emb_dim}, radius={float(self.radius):.3g}, max_neighbors={self.max_neighbors}"

    @property
    def fitted(self) -> bool:
        """True once a radius was chosen (:meth:`fit` or a loaded state)."""
        return float(self.radius) > 0

    def embed(self, pos: Tensor) -> Tensor:
        """(N, emb_dim) embedding of hits."""
        return self.net((hit_inputs(pos) - self.mean) / self.std)

    def forward(self, pos: Tensor, ptr: Tensor, key: Tensor | None = None) -> Tensor:
        """(2, E) radius-graph edges in the embedding, oriented away from the origin."""
        with torch.no_grad():
            emb = self.embed(pos)
        ei = radius_graph(emb, ptr, float(self.radius), max_num_neighbors=self.max_neighbors)
        d = pos.double().norm(dim=1)
        a, b = ei[0], ei[1]
        flip = (d[a] > d[b]) | ((d[a] == d[b]) & (a > b))
        a, b = torch.where(flip, b, a), torch.where(flip, a, b)
        n = pos.shape[0]
        u = torch.unique(a * n + b)
        return torch.stack([u // n, u % n])

    @classmethod
    def fit(cls, events: Iterable[Mapping[str, Any]], *, held_out: Sequence[Mapping[str, Any]] | None = None,
            seed: int = 0, **kwargs: Any) -> MetricGraph:
        """Train the embedding on events with truth and choose the radius.

        Args:
            events: training event dicts (``x, y, z``, ``track_id``, vertices when present).
            held_out: events for the radius (default: the last fifth of ``events``).
            seed: torch seed of the negative sampling.
            **kwargs: the constructor's arguments.

        Raises:
            DataError: no truth segments.
        """
        evs = list(events)
        mg = cls(**kwargs)
        if not evs or "track_id" not in evs[0]:
            raise DataError("metric learning needs truth: the training events need `track_id`")
        held = list(held_out) if held_out else evs[-max(len(evs) // 5, 1):]
        train = evs if held_out else evs[: len(evs) - len(held)] or evs
        data = [_pairs(e) for e in train]
        data = [d for d in data if d[1].shape[1]]
        if not data:
            raise DataError("the training events hold no track with two hits: no metric learning")
        x_all = torch.cat([hit_inputs(p) for p, _, _ in data])
        mg.mean, mg.std = x_all.mean(0), x_all.std(0).clamp(min=1e-6)
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(mg.net.parameters(), lr=mg.lr)
        mg.train()
        for _ in range(mg.epochs):
            for k in torch.randperm(len(data), generator=g).tolist():
                pos, seg, tid = data[k]
                emb = mg.embed(pos)
                n = pos.shape[0]
                with torch.no_grad():
                    hard = knn_graph(emb.detach(), torch.tensor([0, n]), min(8, max(n - 1, 1)))
                rnd = torch.randint(0, n, (2, seg.shape[1]), generator=g)
                neg = torch.cat([hard, rnd], 1)
                same = (tid[neg[0]] == tid[neg[1]]) & (tid[neg[0]] >= 0)
                neg = neg[:, ~same & (neg[0] != neg[1])]
                dp = (emb[seg[0]] - emb[seg[1]]).pow(2).sum(1)
                dn = (emb[neg[0]] - emb[neg[1]]).pow(2).sum(1)
                loss = dp.mean() + torch.relu(mg.margin - dn.clamp(min=1e-12).sqrt()).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        mg.eval()
        dist = []
        with torch.no_grad():
            for e in held:
                pos, seg, _ = _pairs(e, skip=0)
                if seg.shape[1]:
                    emb = mg.embed(pos)
                    dist.append((emb[seg[0]] - emb[seg[1]]).norm(dim=1))
        if not dist:
            raise DataError("the held-out events hold no truth segment to choose the radius on")
        mg.radius = torch.quantile(torch.cat(dist).double(), mg.efficiency).float()
        return mg


def _pairs(event: Mapping[str, Any], skip: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """(positions, truth segments (2, S), track ids) of an event."""
    pos = np.stack([np.asarray(event[c], np.float64) for c in ("x", "y", "z")], 1)
    tid = np.asarray(event["track_id"], np.int64)
    seg = truth_segments(hit_order(pos, tid, event_vertex(event)), tid, skip)
    return torch.from_numpy(pos).float(), torch.from_numpy(seg), torch.from_numpy(tid.copy())
