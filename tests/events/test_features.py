"""The feature spec: float64 arithmetic before the float32 cast, ``auto`` centres and scales
fitted from training hits, and the refusal of unshifted columns float32 cannot resolve."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError, DataError
from hepgraph.events.features import AUTO, FeatureSpec


def test_centred_absolute_times_keep_their_ns():
    t = 1.7e9 + np.arange(0.0, 50.0, 0.25)            # ns, float64 as stored
    got = FeatureSpec.parse([["t", 1.7e9, 1.0]]).apply({"t": t})[:, 0]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.arange(0.0, 50.0, 0.25, dtype=np.float32))


def test_plain_columns_pass_through_unchanged():
    q = np.array([1.5, 2.5, 3.0], np.float32)
    got = FeatureSpec.parse(["charge", ["charge", 1.0, 2.0, 2.5]]).apply({"charge": q})
    np.testing.assert_array_equal(got[:, 0], q)
    np.testing.assert_allclose(got[:, 1], [1.0, 2.5, 2.5])


def test_auto_is_the_median_and_one_over_sigma():
    rng = np.random.default_rng(0)
    adc = rng.normal(3000.0, 400.0, 200_000)
    spec = FeatureSpec.parse([["charge", AUTO, AUTO], ["t", 1e9, AUTO]])
    assert spec.needs_fit
    fitted = spec.fitted({"charge": adc, "t": 1e9 + rng.normal(0, 25.0, 1000)})
    assert not fitted.needs_fit
    (_, c, s, _), (_, c2, s2, _) = fitted.to_list()
    assert c == pytest.approx(3000.0, abs=5.0) and s == pytest.approx(1 / 400.0, rel=0.02)
    assert c2 == 1e9 and s2 == pytest.approx(1 / 25.0, rel=0.1)
    out = fitted.apply({"charge": adc, "t": np.full(adc.size, 1e9)})[:, 0]
    assert abs(out.mean()) < 0.02 and out.std() == pytest.approx(1.0, rel=0.02)


def test_auto_on_a_constant_or_empty_column_is_harmless():
    spec = FeatureSpec.parse([["charge", AUTO, AUTO]])
    assert spec.fitted({"charge": np.full(10, 7.0)}).to_list()[0][1:3] == [7.0, 1.0]
    assert spec.fitted({"charge": np.zeros(0)}).to_list()[0][1:3] == [0.0, 1.0]


def test_unfitted_auto_and_bad_values_are_refused():
    with pytest.raises(ConfigError, match="never fitted"):
        FeatureSpec.parse([["charge", AUTO]]).apply({"charge": np.ones(3)})
    with pytest.raises(ConfigError, match="`autox` is not a number or `auto`"):
        FeatureSpec.parse([["charge", "autox"]])
    with pytest.raises(ConfigError, match="not a number"):
        FeatureSpec.parse([["charge", 0.0, 1.0, AUTO]])  # clip is never fitted


def test_unshifted_absolute_times_are_refused_with_the_setting():
    t = 1.7e9 + np.random.default_rng(1).uniform(0, 300, 500)  # spread ~100 ns around 1.7e9 ns
    with pytest.raises(DataError, match=r"feature `t` lies around 1\.7e\+09 \(spread .*data\.features=\[\[t, auto, auto\]\]"):
        FeatureSpec.parse(["t"]).fitted({"t": t})
    with pytest.raises(DataError, match=r"inputs of ~1\.05e\+09"):  # spread over a run of events: still 1e9 ns inputs
        FeatureSpec.parse(["t"]).fitted({"t": np.linspace(1e9, 1.1e9, 500)})
    # raw mm of a detector 100 m away would reach the network as ~1e5: refused; 1 m away they pass
    with pytest.raises(DataError, match=r"feature `x` lies around 10\d{4} .*inputs of ~1\.05e\+05"):
        FeatureSpec.parse(["x"]).fitted({"x": 1e5 + np.random.default_rng(2).uniform(0, 1e4, 500)})
    FeatureSpec.parse(["x"]).fitted({"x": 1e3 + np.random.default_rng(2).uniform(0, 1e3, 500)})


@pytest.mark.parametrize("spec, needle", [
    ("xyz", "the feature spec `xyz` must be a list of columns"),  # was read as columns x, y, z
    ("[[x", "the feature spec `[[x` must be a list"),  # an unparsable --set value arrives as a string
    (5, "the feature spec `5` must be a list"),
    ([{"column": "x", "foo": 1}], "unknown key `foo`"),  # was a TypeError
    ([{"centre": 0}], "needs `column`"),
])
def test_malformed_feature_specs_are_config_errors(spec, needle):
    with pytest.raises(ConfigError) as err:
        FeatureSpec.parse(spec)
    assert needle in str(err.value)
