from __future__ import annotations

import pytest

from hepgraph.errors import ConfigError, UnknownNameError
from hepgraph.registry import Registry, check_kwargs


def make() -> Registry:
    reg = Registry("widget")

    @reg.register("small-widget", family="toy")
    def small_widget(size: int = 3, colour: str = "red") -> dict:
        return {"size": size, "colour": colour}

    @reg.register("big-widget")
    def big_widget(size: int = 10) -> dict:
        return {"size": size}

    return reg


def test_build_from_name_and_mapping():
    reg = make()
    assert reg.build("small-widget") == {"size": 3, "colour": "red"}
    assert reg.build({"name": "small-widget", "size": 5}) == {"size": 5, "colour": "red"}


def test_build_drops_none_kwargs():
    assert make().build({"name": "small-widget", "size": None}) == {"size": 3, "colour": "red"}


def test_unknown_name_lists_names_and_suggests():
    with pytest.raises(UnknownNameError) as err:
        make().get("smal-widget")
    msg = str(err.value)
    assert "`smal-widget`" in msg and "small-widget" in msg and "big-widget" in msg
    assert "Did you mean `small-widget`?" in msg


def test_unknown_kwarg_names_the_key_and_close_match():
    with pytest.raises(ConfigError, match="colr: unknown key \\(did you mean colour\\?\\)"):
        make().build({"name": "small-widget", "colr": "blue"})


def test_duplicate_registration_needs_override():
    reg = make()
    with pytest.raises(ConfigError, match="registered twice"):
        reg.register("big-widget")(lambda: None)
    reg.register("big-widget", override=True)(lambda: "new")
    assert reg.build("big-widget") == "new"


def test_names_pattern_meta_and_no_module_path():
    reg = make()
    assert reg.names() == ["big-widget", "small-widget"]
    assert reg.names("small-*") == ["small-widget"]
    assert reg.meta("small-widget") == {"family": "toy"}
    # issue 17: a `module:callable` string (from a checkpoint, a YAML) never imports code
    for path in ("collections:OrderedDict", "os:system", "not_a_module_xyz:thing"):
        with pytest.raises(UnknownNameError, match="never imports a `module:callable`"):
            reg.get(path)


def test_check_kwargs_accepts_var_keyword():
    def f(**kwargs):
        return kwargs

    check_kwargs(f, {"anything": 1})
