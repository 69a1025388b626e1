"""Mapping expressions: names with slashes and dots, the whitelist, values against numpy."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgraph.errors import ConfigError, DataError
from hepgraph.sources.expr import compile_expr, evaluate

KNOWN = ["Evt/hits/hits.t", "Evt/t0", "Evt", "hits.t", "hits.tot", "x", "y", "trkhits", "point", "sum"]


def run(text, values, known=KNOWN):
    return evaluate(compile_expr(text, known), values)


def test_full_paths_are_single_names():
    e = compile_expr("Evt/hits/hits.t - Evt/t0", KNOWN)
    assert e.names == ("Evt/hits/hits.t", "Evt/t0")
    t = ak.Array([[1e8 + 0.25, 1e8 + 7.5], []])
    t0 = ak.Array([1e8, 2e8])
    assert run("Evt/hits/hits.t - Evt/t0", {"Evt/hits/hits.t": t, "Evt/t0": t0}).tolist() == [[0.25, 7.5], []]
    # the longest name wins, a shorter one that is a prefix of an identifier does not match
    assert compile_expr("hits.tot * 2", KNOWN).names == ("hits.tot",)
    assert compile_expr("x / y", KNOWN).names == ("x", "y")


def test_arithmetic_functions_and_comparisons_match_numpy():
    x, y = np.array([3.0, -4.0, 0.5]), np.array([4.0, 3.0, 2.0])
    v = {"x": x, "y": y}
    np.testing.assert_allclose(run("sqrt(x**2 + y**2)", v), np.hypot(x, y))
    np.testing.assert_allclose(run("arctan2(y, x) * 180 / pi", v), np.degrees(np.arctan2(y, x)))
    np.testing.assert_array_equal(run("x > 0 and y > 2.5", v), (x > 0) & (y > 2.5))
    np.testing.assert_array_equal(run("0 < x < 3 or not y > 3", v), ((0 < x) & (x < 3)) | ~(y > 3))
    np.testing.assert_array_equal(run("where(x > 0, x, -1)", v), np.where(x > 0, x, -1))
    np.testing.assert_array_equal(run("(x // 1) % 2", v), (x // 1) % 2)
    assert run("3 * 2 + 1", {}) == 7


def test_columns_fields_repeat_and_reducers():
    point = ak.Array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0]]])
    assert run("point[:, 2]", {"point": point}).tolist() == [[3.0, 6.0], [9.0]]
    rec = ak.Array([[{"x": 1.0, "edep": 0.5}], [{"x": 2.0, "edep": 0.25}, {"x": 3.0, "edep": 1.0}]])
    assert run("trkhits.edep * 2", {"trkhits": rec}).tolist() == [[1.0], [0.5, 2.0]]
    vals, counts = ak.Array([[10, 20], [30]]), ak.Array([[2, 1], [3]])
    assert run("repeat(x, y)", {"x": vals, "y": counts}).tolist() == [[10, 10, 20], [30, 30, 30]]
    h = ak.Array([[1.0, 2.0, 3.0], []])
    assert run("num(x)", {"x": h}).tolist() == [3, 0]
    assert run("sum(x)", {"x": h}).tolist() == [6.0, 0.0]  # `sum(` stays the function
    assert run("`Evt/t0` + get(\"x\")", {"Evt/t0": np.array([1.0]), "x": np.array([2.0])}).tolist() == [3.0]


@pytest.mark.parametrize("text, match", [
    ("__import__('os').system('true')", "not allowed|strings"),
    ("x.__class__", "no field"),
    ("open(x)", "not an allowed function"),
    ("[x for x in y]", "not allowed"),
    ("lambda: 1", "not allowed"),
    ("x[0]", r"only `\[:, k\]`"),
    ("x +", "not valid"),
    ("10 ** 10 ** 10", "too large"),
])
def test_whitelist_rejects(text, match):
    with pytest.raises((ConfigError, DataError), match=match):
        evaluate(compile_expr(text, KNOWN), {"x": np.ones(2), "y": np.ones(2)})


def test_unknown_name_lists_close_matches():
    with pytest.raises(DataError, match=r"unknown name `time`.*\(close matches: .*\)|unknown name `time`"):
        compile_expr("time * 2", ["t", "tim", "hit_time"])
    with pytest.raises(DataError, match="close matches: hits.t"):
        compile_expr("hits.tt", ["hits.t", "x"])


@pytest.mark.parametrize("text", ["x > 1 / 0", "x > 1 % 0", "x > 7 // 0", "x > 2 ** 1024 * 1.0", "x > (1 << -1)"])
def test_constants_that_cannot_be_computed_are_data_errors(text):
    with pytest.raises(DataError, match=r"cannot be computed .*fix the numbers"):
        run(text, {"x": np.ones(2)})


def test_array_division_by_zero_keeps_numpy_semantics():
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(run("x / y", {"x": np.ones(2), "y": np.array([0.0, 2.0])}), [np.inf, 0.5])


def test_messages_show_the_users_names_not_placeholders():
    import numpy as np

    from hepgraph.errors import HepgraphError
    from hepgraph.sources.expr import compile_expr, evaluate

    for text, shown in (("hx.__class__", "`hx` has no field"), ("xyz[:, 7]", "`xyz` has no column 7"),
                        ("hx(3)", "`hx(...)`"), ("hx / 0", "`hx / 0` cannot be computed")):
        try:
            evaluate(compile_expr(text, ["hx", "xyz"], where="hits.x"), {"hx": 1, "xyz": np.zeros((3, 2))})
        except HepgraphError as err:
            assert shown in str(err) and "__n" not in str(err), str(err)
        else:
            raise AssertionError(f"{text} evaluated")
