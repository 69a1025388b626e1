"""``EventDataset``: random access to the events of a dataset directory.

Events are located through a row-group index (global event index -> shard, row group,
row). A row group is decoded once into flat numpy arrays plus offsets and kept in a
bounded LRU cache; ``ds[i]`` then only slices views out of those arrays, so random access
within cached row groups costs microseconds and memory does not grow with dataset size.

>>> ds = hepgraph.open_dataset("my_dataset")        # doctest: +SKIP
>>> ev = ds[0]; ev["x"].shape, ev["event_id"]        # doctest: +SKIP
((117,), 0)
>>> train = ds.split("train")                        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from torch.utils.data import Dataset

from hepgraph.errors import ConfigError, DataError
from hepgraph.store.integrity import check_shard, shard_path
from hepgraph.store.manifest import read_manifest
from hepgraph.store.rowgroups import FlatBatch, RowGroup
from hepgraph.store.splits import DEFAULT_FRACTIONS, split_codes, split_index

#: Columns always loaded (needed to collate events).
ALWAYS = ("event_id", "x", "y", "z")


def _parquet(path: Path, entry: dict[str, Any], read: Any) -> Any:
    """``read(path)``, with Arrow's errors on a damaged file turned into one DataError."""
    try:
        return read(path)
    except (pa.ArrowException, OSError) as err:
        check_shard(path, entry)  # a checksum mismatch is the clearer message
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        raise DataError(f"shard `{path}` cannot be read as Parquet ({first}); rebuild the dataset") from None


def _read_x(f: pq.ParquetFile, row_group: int, _path: Path) -> pa.Table:
    return f.read_row_group(row_group, columns=["x"], use_threads=False)


class EventDataset(Dataset):
    """A ``torch.utils.data.Dataset`` of events stored in a dataset directory.

    Args:
        path: the dataset directory (Parquet shards + manifest).
        columns: load only these columns (``event_id, x, y, z`` are always loaded);
            None = all.
        cache_row_groups: decoded row groups kept in memory (LRU), per process.
        verify: check every shard's SHA-256 now (otherwise each shard is checked the first
            time this process reads its data).

    Raises:
        DataError: not a dataset; a shard is missing, outside the dataset, unreadable or does
            not match its checksum.
        ConfigError: ``columns`` names a column the dataset does not have.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        columns: Sequence[str] | None = None,
        cache_row_groups: int = 8,
        verify: bool = False,
    ) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = read_manifest(self.path)
        self.columns: list[str] | None = self._checked(columns)
        if cache_row_groups < 1:
            raise ConfigError(f"cache_row_groups `{cache_row_groups}` must be >= 1")
        self.cache_row_groups = cache_row_groups
        self._shard_paths: list[Path] = []
        rg_shard, rg_local, rg_rows = [], [], []
        for si, shard in enumerate(self.manifest["shards"]):
            p = shard_path(self.path, shard)
            if not p.is_file():
                raise DataError(
                    f"shard `{shard['path']}` of `{self.path}` is missing; rebuild the dataset"
                )
            if verify:
                check_shard(p, shard)
            self._shard_paths.append(p)
            md = _parquet(p, shard, pq.read_metadata)
            for k in range(md.num_row_groups):
                rg_shard.append(si)
                rg_local.append(k)
                rg_rows.append(md.row_group(k).num_rows)
        self._rg_shard = np.asarray(rg_shard, dtype=np.int64)
        self._rg_local = np.asarray(rg_local, dtype=np.int64)
        self._rg_start = np.zeros(len(rg_rows) + 1, dtype=np.int64)
        np.cumsum(rg_rows, out=self._rg_start[1:])
        self._indices: np.ndarray | None = None
        self._event_ids: np.ndarray | None = None
        self._hits_per_event: list[np.ndarray] = []  # shared with views: read once per process
        self._reset()

    def _checked(self, columns: Sequence[str] | None) -> list[str] | None:
        """``columns`` plus :data:`ALWAYS`, in manifest order (None = all)."""
        if columns is None:
            return None
        have = list(self.manifest["columns"])
        bad = [c for c in columns if c not in have]
        if bad:
            raise ConfigError(f"column `{bad[0]}` is not in dataset `{self.path}` (have: {', '.join(have)})")
        return [c for c in have if c in set(columns) | set(ALWAYS)]

    def select(self, columns: Sequence[str] | None) -> EventDataset:
        """The same events (and view) reading only ``columns`` (+ ``event_id, x, y, z``).

        Reading and shipping fewer columns makes every loader batch cheaper: a batch of 16
        LArTPC events carries ~30 columns, a classifier needs two.

        Raises:
            ConfigError: a column the dataset does not have.
        """
        view = copy.copy(self)
        view.columns = self._checked(columns)
        view._reset()
        return view

    # ----------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._pid = os.getpid()
        self._files: dict[int, pq.ParquetFile] = {}
        self._cache: OrderedDict[int, RowGroup] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_files"], state["_cache"] = {}, OrderedDict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def __len__(self) -> int:
        return int(self._rg_start[-1]) if self._indices is None else len(self._indices)

    def __repr__(self) -> str:
        view = "" if self._indices is None else f", view of {int(self._rg_start[-1])}"
        return (f"EventDataset('{self.path}', events={len(self)}{view}, "
                f"row_groups={len(self._rg_shard)}, cache_row_groups={self.cache_row_groups})")

    @property
    def num_row_groups(self) -> int:
        """Row groups across all shards."""
        return len(self._rg_shard)

    def _row_group(self, rg: int) -> RowGroup:
        if self._pid != os.getpid():  # forked DataLoader worker: do not share handles
            self._reset()
        cache = self._cache
        hit = cache.get(rg)
        if hit is not None:
            cache.move_to_end(rg)
            return hit
        si = int(self._rg_shard[rg])
        f = self._files.get(si)
        entry = self.manifest["shards"][si]
        if f is None:
            check_shard(self._shard_paths[si], entry)  # first read of this shard in this process
            f = self._files[si] = _parquet(self._shard_paths[si], entry, pq.ParquetFile)
        table = _parquet(self._shard_paths[si], entry, lambda _p: f.read_row_group(
            int(self._rg_local[rg]), columns=self.columns, use_threads=False))
        decoded = cache[rg] = RowGroup(table)
        while len(cache) > self.cache_row_groups:
            cache.popitem(last=False)
        return decoded

    def check_shards(self) -> None:
        """Check the shards this dataset (or view) reads against their SHA-256 now, in this
        process (once per process; loaders call it before starting worker processes).

        Raises:
            DataError: a shard does not match its checksum.
        """
        if self._indices is None:
            shards = range(len(self._shard_paths))
        else:
            rgs = np.searchsorted(self._rg_start, self._indices, side="right") - 1
            shards = np.unique(self._rg_shard[rgs]).tolist()
        for si in shards:
            check_shard(self._shard_paths[si], self.manifest["shards"][si])

    def global_index(self, i: int) -> int:
        """Index into the whole dataset of this dataset's (or view's) event ``i``."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"event index {i} out of range for {n} events")
        return i if self._indices is None else int(self._indices[i])

    def __getitem__(self, i: int) -> dict[str, Any]:
        g = self.global_index(int(i))
        rg = int(np.searchsorted(self._rg_start, g, side="right")) - 1
        return self._row_group(rg).event(g - int(self._rg_start[rg]))

    def _locate(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row group, row within it) of each of this view's events ``indices`` (negative ok)."""
        n = len(self)
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"event index out of range for {n} events")
        idx = np.where(idx < 0, idx + n, idx)
        g = idx if self._indices is None else self._indices[idx]
        rgs = np.searchsorted(self._rg_start, g, side="right") - 1
        return rgs, g - self._rg_start[rgs]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Batch fetch (used by ``DataLoader``): one vectorised row-group lookup."""
        rgs, local = self._locate(indices)
        return [self._row_group(r).event(j) for r, j in zip(rgs.tolist(), local.tolist())]

    def gather(self, indices: Sequence[int] | np.ndarray) -> FlatBatch:
        """Events ``indices`` as flat column arrays in the given order (vectorised per row group).

        This is what the loader uses: no per-event Python work, so a batch costs a few
        numpy gathers per column.
        """
        rgs, local = self._locate(indices)
        groups = {int(r): np.flatnonzero(rgs == r) for r in np.unique(rgs)}
        if not groups:  # empty batch: row group 0 only provides the columns and dtypes
            groups = {0: np.zeros(0, dtype=np.int64)}
        decoded = {r: self._row_group(r) for r in groups}
        return FlatBatch.gather(decoded, groups, local, len(rgs))

    # ----------------------------------------------------------------------------------
    def event_ids(self) -> np.ndarray:
        """(len,) int64 event ids in dataset order (read once from the shards)."""
        if self._event_ids is None:
            parts = []
            for p, entry in zip(self._shard_paths, self.manifest["shards"]):
                check_shard(p, entry)
                parts.append(_parquet(p, entry, lambda q: pq.read_table(q, columns=["event_id"]))
                             .column(0).to_numpy())
            self._event_ids = (np.concatenate(parts).astype(np.int64) if parts
                               else np.zeros(0, np.int64))
        return self._event_ids if self._indices is None else self._event_ids[self._indices]

    def hit_counts(self) -> np.ndarray:
        """(len,) int64 hits of each event of this dataset (or view), in index order.

        Read once per process (and shared with this dataset's views) from the list offsets
        of the ``x`` column, one row group at a time: no other column is read and memory
        stays at one row group's ``x``. The loader's hit budget (``make_loader(max_hits=)``)
        uses it to size batches without reading events.

        Raises:
            DataError: a shard is unreadable or does not match its checksum.
        """
        if not self._hits_per_event:
            import pyarrow.compute as pc

            parts = []
            for si, (path, entry) in enumerate(zip(self._shard_paths, self.manifest["shards"])):
                check_shard(path, entry)
                f = _parquet(path, entry, pq.ParquetFile)
                for local in self._rg_local[self._rg_shard == si].tolist():
                    x = _parquet(path, entry, functools.partial(_read_x, f, local)).column(0)
                    n = pc.list_value_length(x).fill_null(0)
                    parts.append(n.to_numpy(zero_copy_only=False))
            counts = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
            self._hits_per_event.append(counts)  # in place: views made before now see it too
        counts = self._hits_per_event[0]
        return counts if self._indices is None else counts[self._indices]

    def max_event_hits(self) -> int | None:
        """Hits of the dataset's largest event, from the manifest (None if it has no record).

        For a view it is an upper bound: the largest event may lie outside the view.
        """
        most = self.manifest.get("stats", {}).get("hits_per_event", {}).get("max")
        return int(most) if isinstance(most, (int, float)) else None

    def subset(self, indices: Sequence[int] | np.ndarray) -> EventDataset:
        """A view on some events (indices into this dataset/view); shares no cache."""
        idx = np.asarray(indices, dtype=np.int64)
        n = len(self)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"subset indices out of range for {n} events")
        view = copy.copy(self)
        view._indices = idx if self._indices is None else self._indices[idx]
        view._reset()
        return view

    def split(self, name: str) -> EventDataset:
        """The ``train``, ``val`` or ``test`` view (deterministic by ``event_id`` hash).

        Raises:
            ConfigError: unknown split name.
        """
        k = split_index(name)
        fractions = self.manifest.get("splits", {}).get("fractions", DEFAULT_FRACTIONS)
        codes = split_codes(self.event_ids(), fractions)
        return self.subset(np.nonzero(codes == k)[0])

    def blocks(self) -> list[np.ndarray]:
        """Positions of this dataset's events grouped by row group, in storage order.

        Used by the block-shuffle sampler: shuffling whole blocks keeps reads local.
        """
        if self._indices is None:
            s = self._rg_start
            return [np.arange(s[k], s[k + 1]) for k in range(len(s) - 1) if s[k + 1] > s[k]]
        rgs = np.searchsorted(self._rg_start, self._indices, side="right") - 1
        order = np.argsort(rgs, kind="stable")
        bounds = np.flatnonzero(np.diff(rgs[order])) + 1
        return [b for b in np.split(order, bounds) if b.size]
