"""The classification generators of descend.data.synthetic: seeded, shaped, two classes."""

import numpy as np
import pytest

from descend.data.synthetic import BLOB_CENTRES, CLASS_KINDS, make_classification


@pytest.mark.parametrize("kind", CLASS_KINDS)
def test_shapes_classes_and_seed(kind):
    """(n, 2) points, labels 0.0/1.0 with ⌈n/2⌉ and ⌊n/2⌋ rows; the seed fixes everything."""
    a = make_classification(kind, n=101, noise=0.2, seed=3)
    b = make_classification(kind, n=101, noise=0.2, seed=3)
    c = make_classification(kind, n=101, noise=0.2, seed=4)
    assert a.X.shape == (101, 2) and a.y.shape == (101,)
    assert set(np.unique(a.y)) == {0.0, 1.0}
    assert (a.y == 0).sum() == 51 and (a.y == 1).sum() == 50
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert np.all(np.isfinite(a.X)) and str(101) in a.description


def test_noiseless_moons_are_scikit_learn_s():
    """Without noise the moons are exactly scikit-learn's make_moons points (as sets)."""
    datasets = pytest.importorskip("sklearn.datasets")
    ours = make_classification("moons", n=60, noise=0.0, seed=0)
    X, y = datasets.make_moons(n_samples=60, shuffle=False, noise=0.0)
    for k in (0, 1):
        mine = ours.X[ours.y == k]
        theirs = X[y == k]
        order_m = np.lexsort(mine.T)
        order_t = np.lexsort(theirs.T)
        np.testing.assert_allclose(mine[order_m], theirs[order_t], atol=1e-12)


def test_blobs_sit_at_their_centres_with_their_spread(rng):
    """Each blob's mean lies within 4 standard errors of its centre; its spread is σ."""
    seed = int(rng.integers(2**31))
    d = make_classification("blobs", n=4000, noise=0.5, seed=seed)
    for k, centre in enumerate(BLOB_CENTRES):
        pts = d.X[d.y == k]
        se = 0.5 / np.sqrt(len(pts))
        assert np.all(np.abs(pts.mean(axis=0) - centre) < 4 * se)
        np.testing.assert_allclose(pts.std(axis=0), 0.5, rtol=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "circles"}, "unknown kind 'circles'; choose one of moons, blobs"),
        ({"n": 3}, "n must be a whole number ≥ 4"),
        ({"noise": -1.0}, "noise must be a finite number ≥ 0"),
        ({"noise": float("nan")}, "noise must be a finite number ≥ 0"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_classification(**kwargs)
