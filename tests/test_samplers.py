"""descend.data.samplers: the mini-batch samplers (reshuffle, slices, contiguous)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descend as ds
from descend.data.samplers import (
    BatchSampler,
    ChunkSampler,
    batches,
    contiguous_batches,
    slice_batches,
)
from descend.data.tables import DataError
from descend.problems.fastfit import make_objective
from descend.problems.models import Linear
from descend.problems.objective import DataObjective

# -- batches: the reshuffling sampler ------------------------------------------------------------


def _take(it: Iterator[np.ndarray], k: int) -> list[np.ndarray]:
    return [next(it) for _ in range(k)]


def test_batches_full_batch_is_arange(rng: np.random.Generator) -> None:
    """batch_size = n, None or larger gives arange(n) every time, in order."""
    for bs in (7, None, 100):
        for idx in _take(batches(7, bs, rng), 3):
            np.testing.assert_array_equal(idx, np.arange(7))


def test_batches_epoch_covers_each_row_once(rng: np.random.Generator) -> None:
    """Each epoch visits every row exactly once; the last batch of an epoch may be shorter."""
    n, bs = 10, 3
    got = _take(batches(n, bs, rng), 8)  # two epochs of 4 batches: 3, 3, 3, 1
    assert [len(b) for b in got] == [3, 3, 3, 1, 3, 3, 3, 1]
    for epoch in (got[:4], got[4:]):
        np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.arange(n))


def test_batches_same_seed_same_batches() -> None:
    """The same seed gives the same batches."""
    a = _take(batches(20, 6, np.random.default_rng(3)), 10)
    b = _take(batches(20, 6, np.random.default_rng(3)), 10)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_batches_shuffles_between_epochs(rng: np.random.Generator) -> None:
    """Different epochs use different permutations."""
    got = _take(batches(50, 50 - 1, rng), 4)
    assert not np.array_equal(got[0], got[2])


@pytest.mark.parametrize("bs", [0, -2])
def test_batches_bad_batch_size(rng: np.random.Generator, bs: int) -> None:
    """batch_size < 1 raises DataError at call time with the value."""
    with pytest.raises(DataError, match=f"at least 1.*got {bs}"):
        batches(10, bs, rng)


def test_default_sampler_is_unchanged():
    """The default ("reshuffle"): each epoch one rng.permutation(n), cut in order."""
    rng = np.random.default_rng(7)
    it = batches(10, 4, np.random.default_rng(7))
    for _ in range(3):
        perm = rng.permutation(10)
        for start in (0, 4, 8):
            np.testing.assert_array_equal(next(it), perm[start : start + 4])


def test_sampler_matches_batches_and_restores(rng):
    """BatchSampler draws the batches data.batches draws, and restores mid-epoch exactly."""
    ref = batches(23, 5, np.random.default_rng(4))
    s = BatchSampler(23, 5, np.random.default_rng(4))
    for _ in range(12):
        np.testing.assert_array_equal(next(s), next(ref))
    saved = json.loads(json.dumps(s.state_dict()))
    expected = [next(s) for _ in range(9)]
    t = BatchSampler(23, 5, np.random.default_rng(999))
    t.load_state(saved)
    for e in expected:
        np.testing.assert_array_equal(next(t), e)


@pytest.mark.parametrize("prefetch_rows", [0, 10**9], ids=["prefetch", "no-prefetch"])
def test_reshuffle_fresh_permutation_per_epoch(prefetch_rows, monkeypatch):
    """With and without the background prefetch, every epoch of the default sampler is
    rng.permutation(n) of the same generator, in order: each row exactly once, and a new
    permutation every epoch."""
    monkeypatch.setattr(BatchSampler, "prefetch_rows", prefetch_rows)
    n, b = 97, 10
    s = BatchSampler(n, b, np.random.default_rng(11))
    ref = np.random.default_rng(11)
    epochs = []
    for _ in range(4):
        got = np.concatenate([next(s) for _ in range(10)])  # 9 batches of 10 and one of 7
        np.testing.assert_array_equal(got, ref.permutation(n))
        np.testing.assert_array_equal(np.sort(got), np.arange(n))
        epochs.append(got)
    assert all(not np.array_equal(a, c) for a, c in zip(epochs, epochs[1:], strict=False))
    assert (s._ahead is not None) == (prefetch_rows == 0)


def test_prefetch_saves_and_restores_as_without(monkeypatch):
    """A state saved while the next permutation is prefetched is the state a sampler without
    prefetch saves at the same position; restoring it (into a sampler with a prefetch of its
    own in flight) continues with the same batches."""
    n, b = 50, 8
    monkeypatch.setattr(BatchSampler, "prefetch_rows", 0)
    s = BatchSampler(n, b, np.random.default_rng(2))
    plain = BatchSampler(n, b, np.random.default_rng(2))
    plain.prefetch_rows = 10**9
    for _ in range(10):  # into the second epoch
        np.testing.assert_array_equal(next(s), next(plain))
    assert s._ahead is not None
    saved, expected = s.state_dict(), plain.state_dict()
    assert json.dumps(saved) == json.dumps(expected)
    after = [next(plain) for _ in range(20)]
    t = BatchSampler(n, b, np.random.default_rng(5))
    next(t)  # t now prefetches from its own generator: load_state must discard that
    t.load_state(json.loads(json.dumps(saved)))
    for e in after:
        np.testing.assert_array_equal(next(t), e)


def test_failed_prefetch_is_drawn_again(monkeypatch):
    """A prefetch that fails (here: a MemoryError in the thread) is drawn again from the same
    generator state when the epoch begins: the batches are still rng.permutation's."""

    class Flaky:  # the generator, failing on its second permutation
        def __init__(self, seed: int) -> None:
            self.g = np.random.default_rng(seed)
            self.bit_generator = self.g.bit_generator
            self.calls = 0

        def permutation(self, n: int) -> np.ndarray:
            self.calls += 1
            if self.calls == 2:
                raise MemoryError("no room")
            return self.g.permutation(n)

    monkeypatch.setattr(BatchSampler, "prefetch_rows", 0)
    flaky = Flaky(8)
    s = BatchSampler(30, 10, flaky)  # type: ignore[arg-type]
    ref = np.random.default_rng(8)
    for _ in range(3):
        got = np.concatenate([next(s) for _ in range(3)])
        np.testing.assert_array_equal(got, ref.permutation(30))
    assert flaky.calls == 5  # 1 drawn, 1 failed in the thread, redrawn, then 2 prefetched


def test_prefetched_fit_is_the_same_run(monkeypatch):
    """A mini-batch fit whose permutations are prefetched is bitwise the run without."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(300)
    kw = dict(learning_rate=0.05, batch_size=32, max_steps=60, tol=0.0, seed=4)
    monkeypatch.setattr(BatchSampler, "prefetch_rows", 10**9)
    a = ds.fit(X, y, **kw)
    monkeypatch.setattr(BatchSampler, "prefetch_rows", 0)
    b = ds.fit(X, y, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)


# -- slice_batches and contiguous_batches ------------------------------------------------------


def test_slice_batches_shuffle_once():
    """Every epoch covers each row once, with the same sorted slices in a new order."""
    n, b = 103, 10
    it = slice_batches(n, b, np.random.default_rng(1))
    epochs = [[next(it) for _ in range(11)] for _ in range(3)]
    for ep in epochs:
        rows = np.concatenate(ep)
        np.testing.assert_array_equal(np.sort(rows), np.arange(n))
        assert all(np.all(np.diff(s) > 0) for s in ep)
    sets = [sorted(tuple(s) for s in ep) for ep in epochs]
    assert sets[0] == sets[1] == sets[2]  # the partition is drawn once
    assert [tuple(s) for s in epochs[0]] != [tuple(s) for s in epochs[1]]  # order is fresh
    a = [next(slice_batches(n, b, np.random.default_rng(4))) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])  # deterministic given the seed


def test_contiguous_batches_are_views_in_a_fresh_order():
    it = contiguous_batches(25, 10, np.random.default_rng(0))
    first = [next(it) for _ in range(3)]
    assert sorted((s.start, s.stop) for s in first) == [(0, 10), (10, 20), (20, 25)]
    with pytest.raises(DataError):
        contiguous_batches(25, 0, np.random.default_rng(0))


@pytest.mark.parametrize("sampling", ["slices", "contiguous"])
def test_samplers_give_fast_and_plain_the_same_iterates(rng, correlated, sampling):
    """With a sampler, the fast objective's mini-batch steps stay bitwise equal to the plain."""
    X, y = correlated(rng, n=3000, kappa=10.0)
    fast = make_objective(Linear(), "mse", X, y, fast=True)
    plain = DataObjective(fast.model, "mse", fast.model.design(X), y)
    th0 = rng.standard_normal(fast.n_params)
    kw = dict(learning_rate=0.05, batch_size=64, max_steps=200, tol=0.0, seed=3)
    a = ds.minimize(fast, th0, sampling=sampling, **kw)
    b = ds.minimize(plain, th0, sampling=sampling, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)
    assert a.settings["sampling"] == sampling


@pytest.mark.parametrize("sampling", ["slices", "contiguous"])
def test_samplers_converge_like_reshuffling(rng, correlated, sampling):
    """On rows in random order every sampler gets as close to L* (within 2 %)."""
    X, y = correlated(rng, n=20_000, kappa=10.0)
    kw = dict(learning_rate=0.02, batch_size=256, max_steps=2000, tol=0.0, seed=1)
    a = ds.fit(X, y, sampling=sampling, **kw)
    b = ds.fit(X, y, **kw)
    assert a.loss == pytest.approx(b.loss, rel=0.02)
    assert a.loss <= 1.02 * a.reference.loss


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    batch_size=st.integers(1, 12),
    cut=st.integers(0, 40),
)
def test_chunk_sampler_epochs_and_saved_state(sizes, batch_size, cut):
    """Every epoch visits every row of every chunk once, one chunk at a time; a sampler restored
    from a JSON round trip of its state after ``cut`` batches continues the same sequence."""
    s = ChunkSampler(sizes, batch_size, np.random.default_rng(3))
    per_chunk = [-(-m // batch_size) for m in sizes]
    epoch = [next(s) for _ in range(sum(per_chunk))]
    seen: dict[int, list[int]] = {}
    for c, rows in epoch:
        seen.setdefault(c, []).extend(rows.tolist())
    assert {c: sorted(r) for c, r in seen.items()} == {
        c: list(range(m)) for c, m in enumerate(sizes)
    }
    chunks_in_order = [c for i, (c, _) in enumerate(epoch) if i == 0 or epoch[i - 1][0] != c]
    assert sorted(chunks_in_order) == list(range(len(sizes)))  # one visit per chunk
    a = ChunkSampler(sizes, batch_size, np.random.default_rng(9))
    for _ in range(cut):
        next(a)
    b = ChunkSampler(sizes, batch_size, np.random.default_rng(0))
    b.load_state(json.loads(json.dumps(a.state_dict())))
    for _ in range(25):
        (ca, ra), (cb, rb) = next(a), next(b)
        assert ca == cb and np.array_equal(ra, rb)
    with pytest.raises(ValueError, match="resume on the same files"):
        ChunkSampler([*sizes, 1], batch_size, np.random.default_rng(0)).load_state(a.state_dict())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), b=st.integers(1, 60), steps=st.integers(0, 200))
def test_saved_sampler_states_are_consistent(n, b, steps):
    """Every state a BatchSampler or ChunkSampler hands out passes check_state; a permutation
    with a row twice, or a position beyond the permutation, does not."""
    from descend.data.encoding import encode_array
    from descend.data.samplers import check_state

    s = BatchSampler(n, min(b, n - 1) or 1, np.random.default_rng(n))
    c = ChunkSampler([n, 3, n + 1], b, np.random.default_rng(b))
    for _ in range(steps):
        next(s)
        next(c)
    for state in (s.state_dict(), c.state_dict()):
        assert check_state(state) is None
        if state["perm"] is not None:
            perm = s.perm if "n" in state else c.perm
            bad = perm.copy()
            bad[0] = bad[-1] if len(bad) > 1 else bad[0] + 1
            assert "not a permutation" in check_state({**state, "perm": encode_array(bad)})
            assert "outside" in check_state({**state, "pos": 10**6})
