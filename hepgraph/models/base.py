"""``HitModel``: the common base of every model (levels, heads, edges, output dict)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.heads import LEVELS, EdgeHead, EventHead, HitHead, pool_hits


class HitModel(nn.Module):
    """Base class: a body producing hit and/or event embeddings, then a task head.

    Subclasses build their body in ``__init__``, call :meth:`build_head` with the size of
    their embeddings, and in ``forward`` call :meth:`finish` with them. A model that reads
    dataset columns from ``batch.hit``/``batch.event`` names them in :attr:`data_columns`:
    training batches carry only those, the task's and the features' (``data.columns`` adds
    more for a run).

    Args:
        in_channels: input features per hit (from the feature spec).
        out_channels: outputs per event / hit / edge (from the task).
        level: ``event``, ``hit`` or ``edge``.
        head_hidden: hidden width of the head MLP.
        graph: how edge-level models get edges when ``batch.edge_index`` is unset:
            ``knn``, ``radius`` or ``layers`` (see :func:`hepgraph.represent.graph.to_graph`).
        graph_kwargs: keyword arguments of that method (``k``, ``r``, ``dphi``, ``dz``).
    """

    levels: tuple[str, ...] = LEVELS

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        level: str,
        head_hidden: int = 128,
        graph: str = "knn",
        graph_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if level not in self.levels:
            raise ConfigError(
                f"level `{level}` is not supported by {type(self).__name__}; "
                f"use one of {', '.join(self.levels)}"
            )
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(
                f"in_channels=`{in_channels}` and out_channels=`{out_channels}` must be >= 1"
            )
        self.in_channels, self.out_channels, self.level = in_channels, out_channels, level
        self.head_hidden = head_hidden
        self.graph, self.graph_kwargs = graph, dict(graph_kwargs or {"k": 8})
        self.head: nn.Module | None = None

    def build_head(self, hit_channels: int | None = None, event_channels: int | None = None) -> None:
        """Create the head for ``self.level`` from the body's embedding sizes.

        Args:
            hit_channels: size of per-hit embeddings (event level pools them by mean+max
                when ``event_channels`` is not given).
            event_channels: size of a per-event embedding produced by the body itself.
        """
        h, o = self.head_hidden, self.out_channels
        if self.level == "event":
            c = event_channels if event_channels is not None else 2 * int(hit_channels or 0)
            self.head = EventHead(c, o, h)
        elif self.level == "hit":
            self.head = HitHead(int(hit_channels or 0), o, h)
        else:
            self.head = EdgeHead(int(hit_channels or 0), o, h)

    @property
    def data_columns(self) -> tuple[str, ...]:
        """Dataset columns the model reads from ``batch.hit`` besides ``pos`` and ``feats``."""
        return ("layer",) if self.graph == "layers" else ()

    def edges(self, batch: HitBatch) -> Tensor:
        """``batch.edge_index`` when set, else edges built by ``self.graph``."""
        if batch.edge_index is not None:
            return batch.edge_index
        from hepgraph.represent.graph import build_edges

        return build_edges(batch, self.graph, **self.graph_kwargs)

    def finish(
        self,
        batch: HitBatch,
        hit: Tensor | None = None,
        event: Tensor | None = None,
        edge_index: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Apply the head: ``{"out": ...}`` (plus ``"edge_index"`` at edge level)."""
        assert self.head is not None, "build_head() was not called"
        if self.level == "event":
            if event is None:
                assert hit is not None
                event = pool_hits(hit, batch.batch, batch.batch_size)
            return {"out": self.head(event)}
        assert hit is not None, f"{type(self).__name__} gives no per-hit embedding"
        if self.level == "hit":
            return {"out": self.head(hit)}
        ei = self.edges(batch) if edge_index is None else edge_index
        return {"out": self.head(hit, ei), "edge_index": ei}

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, level={self.level!r}"


def normalise_pos(pos: Tensor, extent: Any = None) -> Tensor:
    """Positions mapped to about [-1, 1]: centre and half-size of ``extent`` (mm).

    Args:
        pos: (N, 3) mm.
        extent: (3, 2) mm; default the 2 m cube of :data:`hepgraph.represent.image.DEFAULT_EXTENT`.
    """
    import torch

    from hepgraph.represent.image import parse_extent

    ext = torch.tensor(parse_extent(extent), dtype=pos.dtype, device=pos.device)  # (3, 2)
    centre, half = ext.mean(1), (ext[:, 1] - ext[:, 0]) / 2
    return (pos - centre) / half
