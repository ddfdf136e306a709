import numpy as np

from facepaint.smooth import OneEuroFilter


def test_removes_jitter_at_rest():
    rng = np.random.default_rng(1)
    f = OneEuroFilter()  # the defaults
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


def _texture(seed: int = 0) -> np.ndarray:
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (200, 240)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0).astype(np.uint8)


def test_flow_moves_points_with_the_picture():
    from facepaint.smooth import FlowPredictor

    picture = _texture()
    before, after = picture[20:180, 20:220], picture[17:177, 15:215]  # content moves by (+5, +3)
    points = np.array([[60.0, 50.0, 1.0], [120.0, 90.0, 2.0], [150.0, 110.0, 3.0]], np.float32)
    predict = FlowPredictor()
    moved = predict(np.ascontiguousarray(before), np.ascontiguousarray(after), points)
    np.testing.assert_allclose(moved[:, :2] - points[:, :2], [[5, 3]] * 3, atol=0.75)
    np.testing.assert_array_equal(moved[:, 2], points[:, 2])  # depth is not the flow's business
    # A repeated frame: nothing moved, so nor do the points.
    still = predict(np.ascontiguousarray(before), np.ascontiguousarray(before), points)
    np.testing.assert_allclose(still, points, atol=0.05)


def test_steady_landmarks_average_fit_noise_but_follow_real_change():
    from facepaint.smooth import steady_landmarks

    rng = np.random.default_rng(2)
    truth = rng.uniform(0, 100, (478, 2)).astype(np.float32)
    fits = truth + rng.normal(0, 0.4, (60, 478, 2)).astype(np.float32)  # a still head, jittery fits
    out = [fits[0]]
    for fit in fits[1:]:
        out.append(steady_landmarks(fit, out[-1], size=100.0))  # nothing moves: prediction = last
    out = np.stack(out)
    assert np.abs(out[10:] - truth).mean() < 0.5 * np.abs(fits[10:] - truth).mean()
    # A blink the flow missed (a gap of 10% of the face): the fit wins outright, no lag.
    closed = truth.copy()
    closed[:10, 1] += 10.0
    np.testing.assert_allclose(steady_landmarks(closed, truth, size=100.0)[:10], closed[:10])
