"""``TrackGenerator``: the common base of conditional generators of a track's clusters.

A generator is trained with ``hepgraph train --task generate --model flow-matching`` (or
``cond-gan``). Its ``forward(batch)`` returns the per-event training loss
(``loss_event``, (B,)); in eval mode it also generates one track for each event's particle
(seeded by the ``event_id``, so the same event always gets the same sample) and returns
the generated and the true clusters in physical units, which the ``generate`` task scores.
:meth:`TrackGenerator.generate` is what ``hepgraph generate`` calls.

Subclasses implement :meth:`loss` and :meth:`sample` on standardised sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.models.generative.codec import TrackCodec

__all__ = ["TrackGenerator", "COND_DIM"]

#: Size of the condition vector (:func:`hepgraph.models.generative.codec.condition_features`).
COND_DIM = 9


class TrackGenerator(nn.Module):
    """Base class of track generators (see the module docstring).

    Args:
        in_channels: ignored (hit features are not an input of a generator).
        out_channels: ignored.
        level: must be ``generate``.
        index: hit column of the sequence slot (``auto``, ``order`` or a column).
        values: hit columns generated per slot.
        fit_events: training events read to learn the slot layout and statistics.
        baseline: ``none``, ``linear`` or ``quadratic`` per-slot regression of the values on
            the condition; the network generates the residuals
            (:class:`~hepgraph.models.generative.codec.TrackCodec`).
    """

    def __init__(self, in_channels: int, out_channels: int, level: str = "generate", index: str = "auto",
                 values: Sequence[str] = ("x", "y", "z", "charge"), fit_events: int = 5000,
                 baseline: str = "quadratic") -> None:
        super().__init__()
        if level != "generate":
            raise ConfigError(f"{type(self).__name__} is a generator: train it with {setting('task.name', 'generate')}, not `{level}`")
        self.level = level
        self.codec = TrackCodec(index, values, baseline)
        self.fit_events = int(fit_events)

    @property
    def num_values(self) -> int:
        """V, values generated per slot."""
        return len(self.codec.values)

    @property
    def data_columns(self) -> tuple[str, ...]:
        """Dataset columns the generator reads (slot, values, truth and particle columns)."""
        return self.codec.columns

    def get_extra_state(self) -> dict[str, Any]:
        return self.codec.state()

    def set_extra_state(self, state: Any) -> None:
        self.codec.load(state)

    def prepare(self, train: Any, val: Any | None = None) -> dict[str, Any]:
        """Learn the slot layout and statistics from up to ``fit_events`` training events."""
        n = len(train)
        idx = np.unique(np.linspace(0, n - 1, min(n, self.fit_events)).astype(np.int64)) if n else []
        return self.codec.fit([train[int(i)] for i in idx])

    def _check(self) -> None:
        if not self.codec.fitted:
            raise ConfigError(f"{type(self).__name__} has no slot layout yet: it is learned from the training "
                              "data when `hepgraph train` starts (prepare), or loaded from a checkpoint")

    # subclasses ------------------------------------------------------------
    def loss(self, cond: Tensor, seq: Tensor, mask: Tensor) -> Tensor:
        """(B,) training loss per event from standardised cond (B, 9), seq (B, V, L), mask (B, L)."""
        raise NotImplementedError

    def sample(self, cond: Tensor, noise: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        """Generated standardised values (B, V, L) and presence (B, L) bool, one generator each."""
        raise NotImplementedError

    # -----------------------------------------------------------------------
    def forward(self, batch: Any) -> dict[str, Tensor]:
        """Training loss per event; in eval mode also generated and true clusters.

        Returns:
            ``loss_event`` (B,); eval mode adds, per generated value ``name``,
            ``gen:name`` (H,) and ``sim:name`` (H',) in physical units, the event (row in the
            batch) of each cluster ``gen_event`` (H,) and ``sim_event`` (H',), and ``raw`` (B, 8)
            (the conditions: px, py, pz, q, pdg, vx, vy, vz).
        """
        self._check()
        cond, seq, mask, raw = self.codec.encode(batch)
        valid = torch.isfinite(raw).all(dim=1)                 # events without a particle teach nothing
        out = {"loss_event": self.loss(cond, seq, mask) * valid}
        if not self.training:
            gens = [torch.Generator().manual_seed(int(e) & 0x7FFFFFFF) for e in batch.event_id.tolist()]
            with torch.no_grad():
                gseq, present = self.sample(cond, gens)
            c = cond.float().cpu().numpy()
            gv, _, ge = self.codec.decode(gseq.float().cpu().numpy(), present.cpu().numpy(), c)
            sv, _, se = self.codec.decode(seq.float().cpu().numpy(), mask.cpu().numpy(), c)
            dev = raw.device
            t = lambda a, dt=torch.float64: torch.as_tensor(a, dtype=dt, device=dev)  # noqa: E731
            out.update(gen_event=t(ge, torch.int64), sim_event=t(se, torch.int64), raw=raw)
            for i, name in enumerate(self.codec.values):
                out[f"gen:{name}"], out[f"sim:{name}"] = t(gv[:, i]), t(sv[:, i])
        return out

    @torch.no_grad()
    def generate(self, raw: np.ndarray, seeds: np.ndarray, device: str | torch.device = "cpu"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clusters for raw conditions (one track each).

        Args:
            raw: (T, 8) px, py, pz (GeV), q, pdg, vx, vy, vz (mm).
            seeds: (T,) one random seed per track.
            device: torch device of the model.

        Returns:
            ``values`` (H, V) physical units, ``slot`` (H,), ``track`` (H,) index into ``raw``.

        Raises:
            DataError: ``raw`` is not (T, 8) finite numbers.
        """
        self._check()
        raw = np.asarray(raw, np.float64)
        if raw.ndim != 2 or raw.shape[1] != 8 or not np.isfinite(raw).all():
            raise DataError(f"conditions must be (T, 8) finite numbers, got shape {raw.shape}")
        c = self.codec.conditions(raw)
        gens = [torch.Generator().manual_seed(int(s) & 0x7FFFFFFF) for s in seeds]
        seq, present = self.sample(torch.from_numpy(c).to(device), gens)
        return self.codec.decode(seq.float().cpu().numpy(), present.cpu().numpy(), c)

    def extra_repr(self) -> str:
        return f"index={self.codec.index!r}, values={self.codec.values}, slots={self.codec.length}"
