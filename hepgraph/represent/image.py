"""HitBatch -> dense images: 2D projections (xy, yz, xz), three views, or a 3D grid.

Pixel ``[i, j]`` of view ``"xy"`` covers ``x`` in ``lo_x + [i, i+1) * cell_x`` and ``y`` in
``lo_y + [j, j+1) * cell_y`` (the first image axis is the first letter of the view), with
``cell = (hi - lo) / n`` from ``extent`` (mm). Hits outside the extent are dropped
(``outside="drop"``, the default) or put on the border pixel (``outside="clamp"``).
A projection checks the extent on its own two axes only (a hit beyond the ``x`` range still
appears in the ``yz`` view).

Encodings (the drift-chamber convention), applied per channel of ``values`` (default:
the batch's standardised features, so ``C = in_channels``):

- ``binary``: 1 on every pixel holding at least one hit;
- ``total``: the event's total value (summed over all its hits) on every hit pixel;
- ``average``: that total divided by the event's number of hits, on every hit pixel;
- ``per_hit``: each hit's own value, summed over the hits sharing a pixel.

>>> img = to_image(batch, view="xy", shape=(64, 64), extent=[[-500, 500]] * 3)  # doctest: +SKIP
>>> img.shape                                                                     # doctest: +SKIP
torch.Size([B, C, 64, 64])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch

VIEW_AXES: dict[str, tuple[int, ...]] = {"xy": (0, 1), "yz": (1, 2), "xz": (0, 2), "3d": (0, 1, 2)}
MULTIVIEW = ("xy", "yz", "xz")
ENCODINGS = ("binary", "total", "average", "per_hit")
#: Extent used when a model is given none (mm): a 2 m cube centred on the origin.
DEFAULT_EXTENT = ((-1000.0, 1000.0), (-1000.0, 1000.0), (-1000.0, 1000.0))


def parse_extent(extent: Any | None) -> tuple[tuple[float, float], ...]:
    """``[[xmin, xmax], [ymin, ymax], [zmin, zmax]]`` (mm) as a tuple, checked.

    Raises:
        ConfigError: not three increasing (min, max) pairs.
    """
    if extent is None:
        return DEFAULT_EXTENT
    try:
        ext = tuple((float(lo), float(hi)) for lo, hi in extent)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"extent `{extent}` must be [[xmin, xmax], [ymin, ymax], [zmin, zmax]] in mm"
        ) from err
    if len(ext) != 3 or any(hi <= lo for lo, hi in ext):
        raise ConfigError(
            f"extent `{extent}` must be three (min, max) pairs with max > min, in mm"
        )
    return ext


def hit_pixels(
    pos: Tensor,
    view: str,
    shape: Sequence[int],
    extent: Any | None = None,
    outside: str = "drop",
) -> tuple[Tensor, Tensor]:
    """Flat pixel index of each hit in a view, and whether the hit is inside the extent.

    Args:
        pos: (N, 3) positions in mm.
        view: ``xy``, ``yz``, ``xz`` or ``3d``.
        shape: pixels per image axis (2 values, 3 for ``3d``).
        extent: (3, 2) mm; default :data:`DEFAULT_EXTENT`.
        outside: ``drop`` (mask hits outside) or ``clamp`` (keep them on the border pixel).

    Returns:
        ``(index, valid)``: (N,) int64 row-major flat index (0 where invalid) and (N,) bool.
    """
    if view not in VIEW_AXES:
        raise ConfigError(f"image view `{view}` is unknown; use one of {', '.join(VIEW_AXES)}")
    if outside not in ("drop", "clamp"):
        raise ConfigError(f"outside=`{outside}` is unknown; use `drop` or `clamp`")
    axes = VIEW_AXES[view]
    if len(shape) != len(axes):
        raise ConfigError(
            f"image shape `{tuple(shape)}` has {len(shape)} sizes but view `{view}` has {len(axes)} axes"
        )
    ext = parse_extent(extent)
    flat = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    valid = torch.ones(pos.shape[0], dtype=torch.bool, device=pos.device)
    for a, n in zip(axes, shape):
        lo, hi = ext[a]
        i = torch.floor((pos[:, a].double() - lo) / ((hi - lo) / n)).long()
        if outside == "drop":
            valid &= (i >= 0) & (i < n)
        i = i.clamp(0, n - 1)
        flat = flat * n + i
    return torch.where(valid, flat, torch.zeros_like(flat)), valid


def _render(
    batch: HitBatch, values: Tensor, view: str, shape: Sequence[int], extent: Any, encoding: str,
    outside: str,
) -> Tensor:
    b, c = batch.batch_size, values.shape[1]
    npix = 1
    for n in shape:
        npix *= int(n)
    idx, valid = hit_pixels(batch.pos, view, shape, extent, outside)
    ev = batch.batch
    dest = (ev * npix + idx)[valid]  # (M,) flat over batch
    out = values.new_zeros(b * npix, c)
    if encoding == "per_hit":
        out.index_add_(0, dest, values[valid])
    else:
        occ = values.new_zeros(b * npix)
        occ[dest] = 1.0
        if encoding == "binary":
            out = occ.unsqueeze(1).expand(-1, c).clone()
        else:
            tot = values.new_zeros(b, c).index_add_(0, ev, values)  # all hits of the event
            if encoding == "average":
                tot = tot / batch.counts.clamp(min=1).to(values.dtype).unsqueeze(1)
            out = occ.view(b, npix, 1) * tot.view(b, 1, c)
    return out.view(b, npix, c).transpose(1, 2).reshape(b, c, *[int(n) for n in shape])


def to_image(
    batch: HitBatch,
    view: str = "xy",
    shape: Sequence[int] = (64, 64),
    extent: Any | None = None,
    encoding: str = "per_hit",
    values: Tensor | None = None,
    outside: str = "drop",
) -> Tensor:
    """Render hits as dense images.

    Args:
        batch: the hits.
        view: ``xy``, ``yz``, ``xz`` (2D projection), ``multiview`` (the three), or ``3d``.
        shape: pixels per axis: (H, W) for projections and multiview, (X, Y, Z) for ``3d``.
        extent: (3, 2) detector box in mm (default :data:`DEFAULT_EXTENT`).
        encoding: ``binary``, ``total``, ``average`` or ``per_hit`` (see module docstring).
        values: (N, C) per-hit values to render (default ``batch.feats``).
        outside: ``drop`` hits outside the extent or ``clamp`` them onto the border.

    Returns:
        Float tensor, ``[B, C, H, W]`` (one view), ``[B, 3, C, H, W]`` (multiview, views
        in the order xy, yz, xz) or ``[B, C, X, Y, Z]`` (3d). Empty events give zero images.

    Raises:
        ConfigError: unknown view, encoding, or a shape of the wrong length.
    """
    if encoding not in ENCODINGS:
        raise ConfigError(f"image encoding `{encoding}` is unknown; use one of {', '.join(ENCODINGS)}")
    vals = batch.feats if values is None else values
    if vals.dim() == 1:
        vals = vals.unsqueeze(1)
    if view == "multiview":
        return torch.stack(
            [_render(batch, vals, v, shape, extent, encoding, outside) for v in MULTIVIEW], dim=1
        )
    return _render(batch, vals, view, shape, extent, encoding, outside)


def pixel_lookup(
    fmap: Tensor, batch: HitBatch, view: str, extent: Any | None = None, outside: str = "drop"
) -> Tensor:
    """Read each hit's pixel from a feature map (possibly downsampled) of a view.

    Args:
        fmap: ``[B, C, *S]`` map whose spatial grid ``S`` covers ``extent``.
        batch: the hits.
        view: the view the map was rendered from (``xy``, ``yz``, ``xz``, ``3d``).
        extent: (3, 2) mm, as used for rendering.
        outside: as in :func:`to_image`; dropped hits read zeros.

    Returns:
        (N, C) features of the pixel under each hit.
    """
    spatial = fmap.shape[2:]
    idx, valid = hit_pixels(batch.pos, view, spatial, extent, outside)
    b, c = fmap.shape[:2]
    flat = fmap.reshape(b, c, -1)
    out = flat[batch.batch, :, idx]  # (N, C)
    return out * valid.unsqueeze(1).to(out.dtype)
