"""Third-party components: Python entry points in the group ``hepgraph.plugins``.

A package that adds models, sources, tasks or clusterers declares, in its ``pyproject.toml``::

    [project.entry-points."hepgraph.plugins"]
    mylab = "mylab_hepgraph:register"

where ``mylab_hepgraph.register()`` (a function of no arguments, or a module that registers
on import) calls the public decorators: ``hepgraph.models.factory.register_model``,
``hepgraph.registry.SOURCES.register`` and so on. This is the only way code from outside
hepgraph comes in (as pytest and napari load plugins): names read from a checkpoint, a run
directory, a manifest or a YAML file resolve only to registered components, never to an
importable path.

Entry points load once per process, the first time a registry is listed or asked for a name
it does not hold. ``HEPGRAPH_DISABLE_PLUGINS=1`` loads none.
"""

from __future__ import annotations

import logging
import os
import warnings

log = logging.getLogger(__name__)

GROUP = "hepgraph.plugins"
_state = {"loaded": False, "names": []}


def disabled() -> bool:
    """Whether ``HEPGRAPH_DISABLE_PLUGINS`` turns plugins off."""
    return os.environ.get("HEPGRAPH_DISABLE_PLUGINS", "").strip() not in ("", "0")


def declared() -> bool:
    """Whether any ``hepgraph.plugins`` entry point is installed (and plugins are on), without
    loading one: reads package metadata only."""
    if disabled():
        return False
    from importlib.metadata import entry_points

    return bool(entry_points(group=GROUP))


def load_plugins() -> list[str]:
    """Load every ``hepgraph.plugins`` entry point once; return the names of those loaded.

    A plugin that fails to load is skipped with a warning naming it (it cannot stop hepgraph
    from working with its own components).
    """
    if _state["loaded"]:
        return list(_state["names"])
    _state["loaded"] = True
    if disabled():
        return []
    from importlib.metadata import entry_points

    for ep in entry_points(group=GROUP):
        try:
            obj = ep.load()
            if callable(obj):
                obj()
        except Exception as err:  # noqa: BLE001 - third-party code: report and go on
            warnings.warn(f"hepgraph plugin `{ep.name}` ({ep.value}) failed to load and is skipped: "
                          f"{type(err).__name__}: {err}", RuntimeWarning, stacklevel=2)
            continue
        _state["names"].append(ep.name)
        log.info("loaded hepgraph plugin %s (%s)", ep.name, ep.value)
    return list(_state["names"])
