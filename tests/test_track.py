import numpy as np

from facepaint.detect import Detection
from facepaint.track import FaceTracker


def det(x, y, s=40, score=0.9):
    return Detection(box=np.array([x, y, x + s, y + s], np.float32), score=score, points=np.zeros((5, 2), np.float32))


def step(tracker, t, detections):
    tracker.predict(t)
    pairs, born = tracker.associate(detections, t)
    for track, d in pairs:
        track.measure_box(d.box, t, d.score)
    return born, tracker.end_frame(t)


def test_ids_stay_with_moving_faces():
    tracker = FaceTracker()
    ids = []
    for i in range(20):
        step(tracker, i / 25, [det(10 + 5 * i, 50), det(300 - 5 * i, 200)])
        ids.append(sorted((t.id, round(float(t.box[1]))) for t in tracker.tracks))
    assert all(frame == ids[0] for frame in ids)  # same two ids, each on its own row
    assert len(tracker.tracks) == 2


def test_short_miss_is_predicted_then_dropped():
    tracker = FaceTracker(max_missing=0.2)
    for i in range(10):
        step(tracker, i / 25, [det(10 + 5 * i, 50)])
    (track,) = tracker.tracks
    x_before = float(track.box[0])
    step(tracker, 10 / 25, [])  # detector drop-out
    assert tracker.tracks == [track] and not track.observed
    assert track.box[0] > x_before + 2  # kept moving with its velocity
    step(tracker, 11 / 25, [det(10 + 5 * 11, 50)])  # found again: same id
    assert tracker.tracks[0].id == track.id and tracker.tracks[0].observed
    dropped = []
    for i in range(12, 20):
        dropped += step(tracker, i / 25, [])[1]
    assert [t.id for t in dropped] == [track.id] and tracker.tracks == []


def test_new_face_gets_a_new_id_and_duplicates_merge():
    tracker = FaceTracker()
    step(tracker, 0.0, [det(10, 10)])
    born, _ = step(tracker, 0.04, [det(10, 10), det(200, 10)])
    assert [t.id for t in born] == [2]
    # A second track pushed onto the same face is merged into the older one.
    tracker.tracks[1].box = tracker.tracks[0].box.copy()
    step(tracker, 0.08, [])
    assert [t.id for t in tracker.tracks] == [1]


def test_greedy_matching_takes_best_pairs_once():
    from facepaint.track import greedy_matches

    iou = np.array([[0.9, 0.5, 0.0], [0.6, 0.2, 0.0], [0.0, 0.0, 0.1]])
    assert greedy_matches(iou, 0.25) == [(0, 0)]  # row 1's best (col 0) is taken; 0.2 is too low
    assert sorted(greedy_matches(np.array([[0.3, 0.8], [0.7, 0.4]]), 0.25)) == [(0, 1), (1, 0)]
    assert greedy_matches(np.zeros((0, 2)), 0.25) == []
