"""``SparseTensor``: integer coordinates (batch index in column 0) and features per site.

>>> import torch
>>> from hepgraph.sparse import SparseTensor
>>> coords = torch.tensor([[0, 1, 2, 3], [0, 4, 5, 6], [1, 0, 0, 0]])
>>> x = SparseTensor(coords, torch.randn(3, 8))
>>> x.dense().shape
torch.Size([2, 8, 5, 6, 7])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import DataError
from hepgraph.sparse.backends.torch.hashing import check_coords, hash_coords, unhash_keys
from hepgraph.sparse.manager import CoordinateManager, Stride

REDUCTIONS = ("sum", "mean", "max")


def as_tuple(value: int | Sequence[int], ndim: int, name: str) -> Stride:
    """``value`` as ``ndim`` ints (an int is repeated); ``name`` is used in the error.

    Raises:
        DataError: a sequence of the wrong length.
    """
    if isinstance(value, int):
        return (value,) * ndim
    out = tuple(int(v) for v in value)
    if len(out) != ndim:
        raise DataError(f"`{name}={value}` must be an int or {ndim} ints")
    return out


class SparseTensor:
    """Sites with integer coordinates and a feature row each.

    Args:
        coords: (N, 1+D) integer coordinates, batch index in column 0, D = 2 or 3; unique rows.
        feats: (N, C) features.
        stride: tensor stride (int or D ints): the coordinates are ``floor(x / stride)`` of the
            stride-1 index space.
        batch_size: B; default ``max(batch) + 1``. Pass it to keep trailing empty entries.

    Raises:
        DataError: bad shapes or dtypes, duplicate coordinates (use :meth:`from_points`), or
            coordinates out of the hashable range.

    Shapes:
        - **coords:** (N, 1+D)  - **feats:** (N, C)
    """

    def __init__(
        self,
        coords: Tensor,
        feats: Tensor,
        stride: int | Sequence[int] = 1,
        *,
        batch_size: int | None = None,
    ) -> None:
        check_coords(coords)
        coords = coords.long()
        if feats.dim() != 2 or feats.shape[0] != coords.shape[0]:
            raise DataError(
                f"feats must have shape (N, C) with N = {coords.shape[0]} rows of coords, "
                f"got `{tuple(feats.shape)}`"
            )
        if feats.device != coords.device:
            raise DataError(f"coords on `{coords.device}` but feats on `{feats.device}`")
        keys = torch.sort(hash_coords(coords)).values
        dup = (keys[1:] == keys[:-1]).nonzero()
        if dup.numel():
            row = unhash_keys(keys[dup[0]], coords.shape[1] - 1)[0].tolist()
            raise DataError(
                f"duplicate coordinates, e.g. `{row}`; use SparseTensor.from_points(coords, "
                "feats, reduce='sum'|'mean'|'max') to merge them"
            )
        nb = int(coords[:, 0].max()) + 1 if coords.shape[0] else 0
        if batch_size is None:
            batch_size = nb
        elif batch_size < nb:
            raise DataError(f"`batch_size={batch_size}` but coords hold batch index {nb - 1}")
        ndim = coords.shape[1] - 1
        manager = CoordinateManager(ndim, int(batch_size), coords.device)
        st = as_tuple(stride, ndim, "stride")
        manager.register(st, coords)
        self._init(manager, st, feats)
        self.inverse_map: Tensor | None = None
        self.unique_index: Tensor | None = None

    def _init(self, manager: CoordinateManager, stride: Stride, feats: Tensor) -> None:
        self.manager = manager
        self.stride: Stride = tuple(stride)
        self.feats = feats

    @classmethod
    def derived(cls, manager: CoordinateManager, stride: Stride, feats: Tensor) -> SparseTensor:
        """A tensor on the coordinate set of ``manager`` at ``stride`` (no checks).

        For ops and backends producing a new tensor of an existing family: ``feats`` must
        have one row per site of ``manager.coords(stride)``.
        """
        out = cls.__new__(cls)
        out._init(manager, stride, feats)
        out.inverse_map = None
        out.unique_index = None
        return out

    # ---- properties ---------------------------------------------------------------------
    @property
    def coords(self) -> Tensor:
        """(N, 1+D) int64 coordinates, batch index in column 0."""
        return self.manager.coords(self.stride)

    @property
    def ndim(self) -> int:
        """D, the number of spatial dimensions."""
        return self.manager.ndim

    @property
    def batch_size(self) -> int:
        """B, the number of batch entries (empty ones included)."""
        return self.manager.batch_size

    @property
    def batch(self) -> Tensor:
        """(N,) batch index of each site."""
        return self.coords[:, 0]

    @property
    def num_channels(self) -> int:
        """C."""
        return int(self.feats.shape[1])

    @property
    def device(self) -> torch.device:
        """Device of coordinates and features."""
        return self.feats.device

    @property
    def dtype(self) -> torch.dtype:
        """Feature dtype."""
        return self.feats.dtype

    def __len__(self) -> int:
        return int(self.feats.shape[0])

    def __repr__(self) -> str:
        return (
            f"SparseTensor(sites={len(self)}, channels={self.num_channels}, ndim={self.ndim}, "
            f"stride={self.stride}, batch_size={self.batch_size}, dtype={self.dtype}, "
            f"device={self.device})"
        )

    # ---- derived tensors ----------------------------------------------------------------
    def replace(self, feats: Tensor) -> SparseTensor:
        """Same coordinates (and coordinate manager), new (N, C') features."""
        if feats.dim() != 2 or feats.shape[0] != len(self):
            raise DataError(
                f"replacement feats must have shape ({len(self)}, C), got `{tuple(feats.shape)}`"
            )
        out = SparseTensor.derived(self.manager, self.stride, feats)
        out.inverse_map, out.unique_index = self.inverse_map, self.unique_index
        return out

    def to(self, *args: Any, **kwargs: Any) -> SparseTensor:
        """Move/cast like ``Tensor.to``; a device change copies the coordinate sets."""
        feats = self.feats.to(*args, **kwargs)
        manager = self.manager
        if feats.device != self.manager.device:
            manager = self.manager.to(feats.device)
        out = SparseTensor.derived(manager, self.stride, feats)
        if self.inverse_map is not None:
            out.inverse_map = self.inverse_map.to(feats.device)
            out.unique_index = self.unique_index.to(feats.device)  # type: ignore[union-attr]
        return out

    def cpu(self) -> SparseTensor:
        """Copy to the CPU."""
        return self.to("cpu")

    def cuda(self) -> SparseTensor:
        """Copy to the current CUDA device."""
        return self.to("cuda")

    def check_same_sites(self, other: SparseTensor) -> None:
        """Raise :class:`DataError` unless ``other`` lives on the same sites in the same order.

        Tensors of one coordinate manager at the same stride always do; tensors of different
        managers do when their coordinates are equal.
        """
        if self.manager is other.manager and self.stride == other.stride:
            return
        if self.coords.shape != other.coords.shape or not torch.equal(self.coords, other.coords):
            raise DataError(
                "sparse tensors live on different coordinates "
                f"(`{len(self)}` sites at stride {self.stride} vs `{len(other)}` at stride "
                f"{other.stride}); add/concat need tensors derived from the same input at the "
                "same stride"
            )

    def __add__(self, other: SparseTensor | Tensor | float) -> SparseTensor:
        if isinstance(other, SparseTensor):
            self.check_same_sites(other)
            return self.replace(self.feats + other.feats)
        return self.replace(self.feats + other)

    __radd__ = __add__

    # ---- dense conversion ---------------------------------------------------------------
    def dense(self, shape: Sequence[int] | None = None) -> Tensor:
        """Dense tensor (B, C, *spatial) with zeros at inactive sites (differentiable).

        Args:
            shape: spatial shape; default ``max(coords) + 1`` per dimension. Coordinates must
                lie in ``[0, shape)``.

        Returns:
            (B, C, *shape) tensor.
        """
        c = self.coords
        if c.shape[0] and int(c[:, 1:].min()) < 0:
            raise DataError("dense() needs non-negative coordinates; shift the tensor first")
        top = c[:, 1:].amax(0).add(1).tolist() if c.shape[0] else [0] * self.ndim
        if shape is None:
            shape = top
        shape = [int(s) for s in shape]
        if len(shape) != self.ndim or any(t > s for t, s in zip(top, shape)):
            raise DataError(f"`shape={shape}` does not hold the coordinates (need >= {top})")
        out = self.feats.new_zeros((self.batch_size, *shape, self.num_channels))
        out = out.index_put(tuple(c.t()), self.feats)
        return out.movedim(-1, 1).contiguous()

    @classmethod
    def from_dense(cls, x: Tensor, stride: int | Sequence[int] = 1) -> SparseTensor:
        """Sites where any channel of ``x`` (B, C, *spatial) is non-zero."""
        if x.dim() not in (4, 5):
            raise DataError(
                f"from_dense needs (B, C, H, W) or (B, C, X, Y, Z), got `{tuple(x.shape)}`"
            )
        xl = x.movedim(1, -1)  # (B, *spatial, C)
        mask = (xl != 0).any(-1)
        coords = mask.nonzero()
        return cls(coords, xl[mask], stride, batch_size=x.shape[0])

    @classmethod
    def from_points(
        cls,
        coords: Tensor,
        feats: Tensor,
        reduce: str = "sum",
        *,
        stride: int | Sequence[int] = 1,
        batch_size: int | None = None,
    ) -> SparseTensor:
        """Merge points falling on the same site.

        The result keeps ``inverse_map`` ((N_points,) site of each point) and
        ``unique_index`` ((N_sites,) first point of each site), so per-site outputs can be
        put back per point: ``y.feats[x.inverse_map]``.

        Args:
            coords: (N, 1+D) integer coordinates (floating ones are floored).
            feats: (N, C) features.
            reduce: ``sum``, ``mean`` or ``max``.
            stride: tensor stride.
            batch_size: as in the constructor.

        Returns:
            The merged SparseTensor.
        """
        if reduce not in REDUCTIONS:
            raise DataError(f"`reduce={reduce!r}` is not one of {list(REDUCTIONS)}")
        if coords.dtype.is_floating_point:
            coords = torch.floor(coords)
        coords = coords.long()
        check_coords(coords)
        if feats.dim() != 2 or feats.shape[0] != coords.shape[0]:
            raise DataError(f"feats must be ({coords.shape[0]}, C), got `{tuple(feats.shape)}`")
        keys, inverse = torch.unique(hash_coords(coords), return_inverse=True)
        m = keys.numel()
        idx = inverse.unsqueeze(1).expand_as(feats)
        if reduce == "max":
            red = feats.new_zeros((m, feats.shape[1])).scatter_reduce(
                0, idx, feats, "amax", include_self=False
            )
        else:
            red = feats.new_zeros((m, feats.shape[1])).index_add(0, inverse, feats)
            if reduce == "mean":
                cnt = torch.bincount(inverse, minlength=m).to(feats.dtype).unsqueeze(1)
                red = red / cnt
        first = torch.full((m,), coords.shape[0], dtype=torch.long, device=coords.device)
        first = first.scatter_reduce(
            0, inverse, torch.arange(coords.shape[0], device=coords.device), "amin"
        )
        out = cls(unhash_keys(keys, coords.shape[1] - 1), red, stride, batch_size=batch_size)
        out.inverse_map, out.unique_index = inverse, first
        return out
