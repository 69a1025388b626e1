"""``create_model`` / ``list_models`` over the ``MODELS`` registry, and ``register_model``.

Registry metadata of every model: ``family`` (dense | sparse | graph | transformer | mlp),
``representation`` (image | sparse | graph | points), ``levels`` (subset of event, hit,
edge), ``cls`` (the class, whose signature validates keyword arguments) and ``defaults``
(the variant's own keyword arguments, as timm's ``model_args``: the one place a variant's
defaults live; ``create_model``, ``hepgraph train`` and ``hepgraph models`` all apply them).

>>> from hepgraph.models import create_model, list_models
>>> model = create_model("edgeconv", in_channels=1, level="hit", out_channels=3)  # doctest: +SKIP
>>> list_models("sparse-*")                                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from hepgraph.errors import ConfigError
from hepgraph.registry import MODELS, check_kwargs

FAMILIES = ("dense", "sparse", "graph", "transformer", "mlp", "generative")
REPRESENTATIONS = ("image", "sparse", "graph", "points")

#: Arguments create_model fills itself (never user keys).
INJECTED = ("in_channels", "level", "out_channels")

#: Family names that resolve to a default size.
ALIASES = {
    "dense-resnet": "dense-resnet18",
    "dense-resnet-3d": "dense-resnet18-3d",
    "dense-resnet-multiview": "dense-resnet18-multiview",
    "sparse-resnet": "sparse-resnet18",
}


def register_model(
    name: str, *, family: str, representation: str, levels: Sequence[str], cls: type,
    defaults: Mapping[str, Any] | None = None, override: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a model entrypoint with its metadata (see module docstring).

    Args:
        name: the registry name (kebab-case).
        family: one of :data:`FAMILIES`.
        representation: one of :data:`REPRESENTATIONS`.
        levels: output levels the model supports (event, hit, edge).
        cls: the model class (its signature validates keyword arguments).
        defaults: keyword arguments this variant sets over the class defaults.
        override: replace an existing registration of ``name``.
    """
    assert family in FAMILIES and representation in REPRESENTATIONS, (family, representation)
    return MODELS.register(
        name, family=family, representation=representation, levels=tuple(levels), cls=cls,
        defaults=dict(defaults or {}), override=override,
    )


def resolve_name(name: str) -> str:
    """Map a family alias (``dense-resnet``) to its default model (``dense-resnet18``)."""
    return ALIASES.get(name, name)


def model_info(name: str) -> dict[str, Any]:
    """Metadata of a registered model: family, representation, levels, cls."""
    return MODELS.meta(resolve_name(name))


def variant_kwargs(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``create_model(name, ...)`` passes on: the variant's registered
    defaults under the user's values (``None`` values dropped), checked against the class.

    Raises:
        UnknownNameError: the name is not registered.
        ConfigError: ``model.<key>: unknown key (did you mean ...?)``.
    """
    full = resolve_name(name)
    meta = MODELS.meta(full)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    merged = {**meta.get("defaults", {}), **kwargs}
    check_kwargs(meta.get("cls", MODELS.get(full)), merged, where="model", injected=INJECTED)
    return merged


def create_model(
    name: str, *, in_channels: int, level: str, out_channels: int, **kwargs: Any
) -> nn.Module:
    """Build a model by registry name: the one place where its level and keywords are checked.

    Args:
        name: registered name (``hepgraph models`` lists them) or a family alias.
        in_channels: features per hit (``len(feature spec)``).
        level: ``event``, ``hit`` or ``edge``, as the task requires.
        out_channels: outputs per event / hit / edge.
        **kwargs: model and representation keyword arguments (``extent`` mm,
            ``image_shape``, ``voxel_size`` mm, ``k``, ...); ``None`` values are dropped and
            the variant's registered defaults fill the rest.

    Returns:
        The model: ``model(batch: HitBatch) -> {"out": Tensor, ("edge_index": Tensor)}``.

    Raises:
        UnknownNameError: the name is not registered.
        ConfigError: the model does not support ``level`` or a keyword is unknown.

    Example:
        >>> m = create_model("mlp", in_channels=2, level="event", out_channels=3)
        >>> type(m).__name__
        'HitMLP'
    """
    full = resolve_name(name)
    fn = MODELS.get(full)
    levels = MODELS.meta(full).get("levels", ())
    if levels and level not in levels:
        ok = [m for m in MODELS.names() if level in MODELS.meta(m).get("levels", (level,))]
        raise ConfigError(
            f"model `{full}` does not support level `{level}` (it supports {', '.join(levels)}); "
            f"the task needs `{level}`; models that do: {', '.join(ok) or 'none'}"
        )
    kwargs = variant_kwargs(full, kwargs)
    return fn(in_channels=in_channels, level=level, out_channels=out_channels, **kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered model names matching an fnmatch ``pattern``."""
    return MODELS.names(pattern)
