import numpy as np

from facepaint.smooth import OneEuroFilter


def test_removes_jitter_at_rest():
    rng = np.random.default_rng(1)
    f = OneEuroFilter()  # the face stack's settings
    raw = 100 + rng.normal(0, 0.5, size=(120, 10)).astype(np.float32)  # landmark-like noise, 100 px face
    out = np.stack([f(x, t / 30, scale=1.0) for t, x in enumerate(raw)])
    assert out[30:].std(axis=0).mean() < 0.5 * raw[30:].std(axis=0).mean()


def test_follows_fast_motion_without_lag():
    # A face moving 600 px/s: after a few frames the output is within a few px of it.
    f = OneEuroFilter()
    slow = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    positions = [np.array([20.0 * i], np.float32) for i in range(30)]
    out = [f(p, i / 30, scale=1.0) for i, p in enumerate(positions)]
    lagging = [slow(p, i / 30) for i, p in enumerate(positions)]
    assert abs(out[-1][0] - positions[-1][0]) < 8.0
    assert abs(lagging[-1][0] - positions[-1][0]) > 3 * abs(out[-1][0] - positions[-1][0])


def test_variable_frame_rate_and_resets():
    f = OneEuroFilter()
    a = f(np.zeros(3), 0.0)
    b = f(np.ones(3), 0.5)  # a long gap lets the value move most of the way
    assert (b > 0.5).all() and (a == 0).all()
    c = f(np.full(3, 5.0), 0.5)  # same timestamp again (duplicate frame): restart, no division by zero
    assert np.isfinite(c).all()
    f.reset()
    np.testing.assert_array_equal(f(np.full(3, 7.0), 1.0), 7.0)
