"""HitBatch <-> PyTorch Geometric ``Batch``, with labels, per-hit targets and event ids.

:func:`to_pyg` builds one ``Data`` per event and collates them with
``Batch.from_data_list``, so PyG's bookkeeping is complete: ``to_data_list()``,
``get_example(i)``, ``torch_geometric.loader.DataLoader`` and every PyG layer work.

Each ``Data`` holds (N_e hits, P_e particles of its event):

- ``x`` (N_e, C) the features, ``pos`` (N_e, 3) mm, ``edge_index`` (2, E_e) local indices
  when the batch has edges;
- every per-hit column by its name, (N_e,): ``semantic``, ``track_id``, ``charge``,
  ``layer``, ``hit_id``, ...;
- every event column as a (1,) tensor: ``event_id``, ``label``, ``n_tracks``, ``px``, ...;
- every particle column, (P_e,), and ``num_particles`` (1,);
- ``y``: the target, a copy of ``label`` (per event) when there is one, else of
  ``semantic`` (per hit); choose another column with ``y=``.

:func:`from_pyg` reads such a batch back (and any PyG batch with ``x`` and ``pos``);
columns are sorted into hit, event and particle columns by the schema's names
(:func:`hepgraph.events.schema.kind_of`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from hepgraph.errors import DataError
from hepgraph.events.schema import kind_of

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.events.hitbatch import HitBatch

#: Attributes of a PyG batch that are not dataset columns.
RESERVED = ("x", "pos", "edge_index", "batch", "ptr", "y", "num_particles", "event_id", "edge_attr")


def _target(hb: HitBatch, y: str | None) -> tuple[str, str] | None:
    """(column, ``hit`` | ``event``) copied into ``y``."""
    if y is not None:
        if y in hb.event:
            return y, "event"
        if y in hb.hit:
            return y, "hit"
        raise DataError(f"y=`{y}` is not a column of the batch; hit columns: "
                        f"{', '.join(hb.hit) or 'none'}; event columns: {', '.join(hb.event) or 'none'}")
    if "label" in hb.event:
        return "label", "event"
    if "semantic" in hb.hit:
        return "semantic", "hit"
    return None


def to_pyg(hb: HitBatch, edge_index: Tensor | None = None, y: str | None = None) -> Any:
    """The batch as a ``torch_geometric.data.Batch`` (see the module docstring).

    Args:
        hb: the hits.
        edge_index: (2, E) global edges (default ``hb.edge_index``); edges never cross events.
        y: column copied into ``y`` (default ``label``, else ``semantic``).

    Returns:
        ``Batch`` with ``num_graphs == hb.batch_size`` (empty events kept).

    Raises:
        DataError: ``y`` names no column, or an edge joins two events.
    """
    from torch_geometric.data import Batch, Data

    ei = edge_index if edge_index is not None else hb.edge_index
    b = hb.batch_size
    ptr = hb.ptr.tolist()
    eptr = None
    if ei is not None:
        ev_src, ev_dst = hb.batch[ei[0]], hb.batch[ei[1]]
        if bool((ev_src != ev_dst).any()):
            raise DataError("edge_index joins hits of different events; PyG graphs are one event each")
        order = torch.argsort(ev_src, stable=True)
        ei = ei[:, order]
        eptr = [0, *torch.cumsum(torch.bincount(ev_src, minlength=b), 0).tolist()]
    pptr = hb.particle_ptr.tolist() if hb.particle_ptr is not None else None
    target = _target(hb, y)
    datas = []
    for e in range(b):
        lo, hi = ptr[e], ptr[e + 1]
        d = Data(x=hb.feats[lo:hi], pos=hb.pos[lo:hi], num_nodes=hi - lo)
        d.event_id = hb.event_id[e:e + 1]
        for k, v in hb.hit.items():
            d[k] = v[lo:hi]
        for k, v in hb.event.items():
            d[k] = v[e:e + 1]
        if pptr is not None:
            for k, v in hb.particle.items():
                d[k] = v[pptr[e]:pptr[e + 1]]
            d.num_particles = torch.tensor([pptr[e + 1] - pptr[e]])
        if ei is not None and eptr is not None:
            d.edge_index = ei[:, eptr[e]:eptr[e + 1]] - lo
        if target is not None:
            name, level = target
            d.y = hb.event[name][e:e + 1] if level == "event" else hb.hit[name][lo:hi]
        datas.append(d)
    return Batch.from_data_list(datas)


def from_pyg(g: Any) -> HitBatch:
    """A :class:`HitBatch` from a PyG ``Batch`` (or one ``Data`` = one event).

    Args:
        g: needs ``x`` (N, C) and ``pos`` (N, 3); ``batch``/``ptr`` give the events; other
            attributes become hit (N rows), event (one per graph) or particle columns by
            their names. ``edge_index`` is kept (global indices, as PyG collates them).

    Raises:
        DataError: ``x`` or ``pos`` missing, or rows not sorted by event.
    """
    from hepgraph.events.hitbatch import HitBatch

    if getattr(g, "x", None) is None or getattr(g, "pos", None) is None:
        raise DataError("a PyG graph needs `x` (features) and `pos` (positions, mm) to become a HitBatch")
    n = int(g.x.shape[0])
    bvec = getattr(g, "batch", None)
    gptr = getattr(g, "ptr", None)
    if gptr is not None:
        ptr = gptr.long()
    elif bvec is not None:
        nb = int(getattr(g, "num_graphs", int(bvec.max()) + 1 if bvec.numel() else 0))
        ptr = torch.zeros(nb + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(bvec, minlength=nb), 0)
        if bvec.numel() and bool((bvec[1:] < bvec[:-1]).any()):
            raise DataError("the PyG batch's rows are not sorted by graph")
    else:
        ptr = torch.tensor([0, n])
    nb = ptr.numel() - 1
    hit, event, particle = {}, {}, {}
    for key, value in g.items():
        if key in RESERVED or not isinstance(value, Tensor) or value.dim() == 0:
            continue
        kind = kind_of(key)
        if kind == "hit" and value.shape[0] == n:
            hit[key] = value
        elif kind == "particle":
            particle[key] = value
        elif kind == "event" and value.shape[0] == nb:
            event[key] = value
    pptr = None
    counts = getattr(g, "num_particles", None)
    if particle and counts is not None:
        pptr = torch.zeros(nb + 1, dtype=torch.long)
        pptr[1:] = torch.cumsum(counts.long().reshape(-1), 0)
    eid = getattr(g, "event_id", None)
    return HitBatch(
        pos=g.pos.float(), feats=g.x.float(), ptr=ptr, batch_size=nb,
        event_id=eid.long().reshape(-1) if eid is not None else torch.arange(nb),
        hit=hit, event=event, particle=particle if pptr is not None else {}, particle_ptr=pptr,
        edge_index=getattr(g, "edge_index", None),
    )
