"""Animate: retargeting maths, the landmark warp, and the mode on real faces."""

import subprocess
import sys

import numpy as np
import pytest

from facepaint.draw import LEFT_EYE, RIGHT_EYE
from facepaint.engine import Engine
from facepaint.errors import FacepaintError
from facepaint.mesh import similarity_fit
from facepaint.retarget import Retargeter
from facepaint.types import Frame
from facepaint.warp import LandmarkWarp
from conftest import pan_frames, shared_path, write_video


@pytest.fixture(scope="module")
def astronaut_face(astronaut):
    with Engine(device="cpu") as engine:
        (face,) = engine.process(Frame(astronaut)).faces
    return face


def rotate_2d(landmarks, degrees, centre):
    a = np.radians(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    out = landmarks.copy()
    out[:, :2] = (landmarks[:, :2] - centre) @ r.T + centre
    return out


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3))
    a = np.radians(25)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    s, r, t = similarity_fit(src, 1.7 * src @ rot.T + [3, -2, 1])
    assert s == pytest.approx(1.7) and np.allclose(r, rot) and np.allclose(t, [3, -2, 1])


def test_retarget_follows_the_driver_relative_to_its_neutral(astronaut_face):
    portrait = astronaut_face.landmarks
    driver = portrait.copy()
    driver[:, :2] = driver[:, :2] * 0.6 + [40, 25]  # another face: smaller, elsewhere
    retarget = Retargeter(portrait)
    retarget.set_reference(driver)
    assert np.abs(retarget(driver) - portrait).max() < 0.05  # neutral: the portrait as it is
    # The driver tilts its head 12 degrees: so does the portrait, around its own face.
    tilted = retarget(rotate_2d(driver, 12, driver[:, :2].mean(0)))
    eyes = tilted[263, :2] - tilted[33, :2]
    before = portrait[263, :2] - portrait[33, :2]
    angle = np.degrees(np.arctan2(eyes[1], eyes[0]) - np.arctan2(before[1], before[0]))
    assert angle == pytest.approx(12, abs=1.0)
    # The driver opens its mouth: the portrait's inner lips part by the same share of its face.
    open_mouth = driver.copy()
    jaw = [14, 17, 87, 178, 88, 95, 317, 402, 318, 324, 152, 148, 176, 377, 400]
    open_mouth[jaw, 1] += 10
    moved = retarget(open_mouth)
    gap = lambda lm: lm[14, 1] - lm[13, 1]
    assert gap(moved) - gap(portrait) == pytest.approx(10 / 0.6, rel=0.15)
    assert np.abs(moved[:10] - portrait[:10]).max() < 2.0  # the rest of the face stays


def test_retarget_looks_where_the_driver_looks(astronaut_face):
    """A portrait that looks to one side (the Mona Lisa) takes the driver's gaze (``gaze=1``):
    driven by a face looking ahead it looks ahead, and it follows a glance without sticking in the
    eye's corner; ``gaze=0`` keeps its own look; the default, half of each."""
    from facepaint.retarget import EYES

    def side_glance(landmarks, share):  # irises moved ``share`` of the eye width towards the image's right
        out = landmarks.copy()
        for iris, outer, inner in EYES:
            out[iris:iris + 5, 0] += share * abs(landmarks[inner, 0] - landmarks[outer, 0])
        return out

    def iris_offsets(landmarks):
        return np.array([(landmarks[iris, 0] - (landmarks[outer, 0] + landmarks[inner, 0]) / 2)
                         / abs(landmarks[inner, 0] - landmarks[outer, 0]) for iris, outer, inner in EYES])

    ahead = astronaut_face.landmarks
    portrait = side_glance(ahead, 0.25)
    driver = ahead.copy()
    driver[:, :2] = driver[:, :2] * 0.6 + [40, 25]
    retarget = Retargeter(portrait, gaze=1.0)
    retarget.set_reference(driver)
    assert np.allclose(iris_offsets(retarget(driver)), iris_offsets(ahead), atol=0.01)
    assert np.allclose(iris_offsets(retarget(side_glance(driver, -0.2))), iris_offsets(ahead) - 0.2, atol=0.01)
    own_gaze = Retargeter(portrait, gaze=0.0)
    own_gaze.set_reference(driver)
    assert np.allclose(iris_offsets(own_gaze(driver)), iris_offsets(portrait), atol=0.01)
    half = Retargeter(portrait)  # the default: half way between its own look and the driver's
    half.set_reference(driver)
    assert np.allclose(iris_offsets(half(driver)), iris_offsets(ahead) + 0.125, atol=0.01)
    rest = [i for i in range(468) if i not in range(468, 478)]
    assert np.abs(retarget(driver)[rest] - portrait[rest]).max() < 1e-3  # only the irises move


def test_a_closing_eye_flattens_its_iris(astronaut_face):
    """As the driver's eyes close, the portrait's irises flatten onto the line where the lids meet:
    a round iris reaching past closed lids was warped into a dark drip below the eye."""
    from facepaint.retarget import EYES, LIDS

    portrait = astronaut_face.landmarks
    retarget = Retargeter(portrait)
    retarget.set_reference(portrait)
    closed = portrait.copy()
    for upper, lower in LIDS:
        closed[upper, :2] = closed[lower, :2]
    shut = retarget(closed)

    def across_the_eye(points, iris, outer, inner, lid):  # distances from the lid, square to the eye's line
        along = points[inner, :2] - points[outer, :2]
        normal = np.array([-along[1], along[0]]) / np.linalg.norm(along)
        return np.abs((points[iris:iris + 5, :2] - points[lid, :2]) @ normal)

    for (iris, outer, inner), (upper, lower) in zip(EYES, LIDS):
        assert across_the_eye(portrait, iris, outer, inner, iris).max() > 2.0  # round when open
        assert across_the_eye(shut, iris, outer, inner, lower).max() < 0.5  # a line when shut


def turned_face(yaw_degrees, scale=10.0, offset=(256, 256)):
    """Canonical mesh landmarks as an image would show them, turned about the vertical axis."""
    from facepaint.mesh import canonical_mesh

    a = np.radians(yaw_degrees)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    points = scale * canonical_mesh().vertices.astype(np.float64) @ rot.T
    return (points * [1, -1, -1] + [offset[0], offset[1], 0]).astype(np.float32)


def test_a_turned_portrait_turns_away_only_softly():
    """A portrait already turned 36 degrees, driven 4 degrees further away, turns only a little
    further (the warp cannot show its far side); driven 25 degrees away, hardly more (a ceiling);
    driven back toward frontal it follows in full, and a frontal portrait follows any turn up to the
    knee in full."""
    from facepaint.pose import pose_from_matrix
    from facepaint.retarget import fit_pose, stable_points

    def yaw_of(landmarks):
        return pose_from_matrix(fit_pose(landmarks, stable_points()).rotation.T).yaw

    for own, driven, expected in ((-36, -4, (-36 - 4 * 0.3, 0.3)), (-36, -25, (-39, 0.4)), (-36, 15, (-21, 1.0)),
                                  (0, -30, (-30, 1.0))):
        retarget = Retargeter(turned_face(own))
        retarget.set_reference(turned_face(0, scale=6.0, offset=(100, 120)))
        out = retarget(turned_face(driven, scale=6.0, offset=(100, 120)))
        assert yaw_of(out) == pytest.approx(expected[0], abs=expected[1]), (own, driven)


def test_warp_of_a_turned_face_does_not_fold_at_its_far_cheek():
    """A portrait turned 33 degrees, turned back to 20: across its far side's silhouette each output
    pixel fetches from further right than its left neighbour (a fold there drew the cheek's edge
    twice, as a dark seam down the Pearl Earring's cheek)."""
    source, moved = turned_face(-33, scale=12.0), turned_face(-20, scale=12.0)
    warp = LandmarkWarp(source, (512, 512))
    z = moved[:, 2]
    depth = np.concatenate([z, np.full(len(warp.source) - len(z), z.max() + np.ptp(z) + 1, np.float32)])
    map_x, _ = warp.maps(warp.targets(moved), depth)
    edge = int(moved[:, 0].min())
    rows = range(int(moved[:, 1].min()) + 10, int(moved[:, 1].max()) - 10)
    steps = np.diff(map_x[rows.start:rows.stop, edge - 6:edge + 14], axis=1)
    assert steps.min() > -1.0


def face_with_irises(iris_share: float = 0.1) -> np.ndarray:
    """A frontal canonical face (478 landmarks): the mesh has no irises, so each eye gets a ring
    at its middle (its radius ``iris_share`` of the eye's width)."""
    face = turned_face(0, scale=14.0)
    irises = []
    for eye in (RIGHT_EYE, LEFT_EYE):
        centre = face[eye[:-1]].mean(0)
        r = iris_share * np.linalg.norm(face[eye[0], :2] - face[eye[8], :2])
        irises += [centre] + [centre + [dx, dy, 0] for dx, dy in ((r, 0), (0, -r), (-r, 0), (0, r))]
    return np.concatenate([face, np.array(irises, np.float32)])


def right_eye_closed(source: np.ndarray, share: float) -> np.ndarray:
    """``source`` with the right eye's upper lid moved ``share`` of the way down to the lower lid."""
    moved = source.copy()
    for upper, lower in {173: 155, 157: 154, 158: 153, 159: 145, 160: 144, 161: 163, 246: 7}.items():
        moved[upper, :2] += share * (source[lower, :2] - source[upper, :2])
    moved[468:473, 1] = np.clip(moved[468:473, 1], moved[159, 1], source[145, 1])  # irises under the lids
    return moved


def test_a_closing_eye_is_covered_by_its_lid_not_squeezed():
    """Upper lid half way down: what stays open shows the lower half of the picture's eye at its
    own size (each pixel fetched from where it is), and the lid covers the rest. Squeezed whole, a
    half-closed eye kept all its white in a bright sliver, its iris a black scratch."""
    source = face_with_irises()
    warp = LandmarkWarp(source, (512, 512))
    moved = right_eye_closed(source, 0.5)
    _, map_y = warp.maps(warp.targets(moved))
    for upper, lower in ((160, 144), (157, 154)):  # beside the iris, toward either corner
        x, bottom, top = int(round(source[lower, 0])), source[lower, 1], moved[upper, 1]
        for share in (0.2, 0.4, 0.6, 0.8):
            y = int(round(bottom + share * (top - bottom)))
            assert map_y[y, x] == pytest.approx(y, abs=0.5), (lower, share)  # squeezed: up to 2.6 px above


def test_a_nearly_closed_eye_is_antialiased():
    """Lids 80-95% closed: the slit between them is a sliver of triangles a pixel or two high.
    Along it, the light in each column of the output changes smoothly; fetched once per pixel,
    columns whose centre fell in the sliver showed the eye's white and the rest the lid, a
    staircase of specks along the lash line (the Mona Lisa, winking)."""
    import cv2

    source = face_with_irises()
    image = np.full((512, 512, 3), 120, np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):  # white eyes, drawn smooth so that only the warp can alias
        cv2.fillPoly(image, [np.round(source[eye, :2] * 16).astype(np.int32)], (240, 240, 240), cv2.LINE_AA, 4)
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    warp = LandmarkWarp(source, (512, 512))
    x0, x1 = sorted((int(source[33, 0]) + 4, int(source[133, 0]) - 4))
    rough = {"supersampled": 0.0, "once per pixel": 0.0}
    for share in (0.8, 0.85, 0.9, 0.95):
        moved = right_eye_closed(source, share)
        rows = slice(int(moved[[159, 145], 1].min()) - 3, int(moved[[159, 145], 1].max()) + 4)
        once = cv2.remap(image, *warp.maps(warp.targets(moved)), cv2.INTER_LINEAR)
        for name, out in (("supersampled", warp(image, moved)), ("once per pixel", once)):
            light = out[rows, x0:x1, 0].astype(float).sum(0)
            rough[name] += np.abs(np.diff(light, 2)).mean()  # column-to-column jumps, not the lid's curve
    assert rough["supersampled"] < 0.65 * rough["once per pixel"], rough


def test_warp_softens_only_where_the_fetch_jumps():
    """Left half fetched from where it is, right half from 40 px further right (a silhouette): the
    two columns at the seam take a soft mean of their neighbourhood (once per pixel it is a hard,
    staircased edge); a smooth squeeze and a stretch elsewhere stay untouched."""
    import cv2

    from facepaint.warp import _soften_jumps

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (60, 200, 3), np.uint8)
    map_x, map_y = np.meshgrid(np.arange(200, dtype=np.float32), np.arange(60, dtype=np.float32))
    map_x[:, 100:] += 40
    map_x[:, :50] = 1.4 * map_x[:, :50]  # squeezed a little (steps of 1.4 px), then stretched
    map_x[:, 50:100] = map_x[:, 49:50] + 0.5 * (np.arange(1, 51, dtype=np.float32))
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)
    fetched = out.copy()
    _soften_jumps(out, map_x, map_y)
    changed = np.nonzero((out != fetched).any(axis=(0, 2)))[0]
    assert set(changed) <= {99, 100} and len(changed) == 2
    soft = cv2.GaussianBlur(fetched, (0, 0), 0.8)
    assert np.array_equal(out[:, 99:101], soft[:, 99:101])


def test_warp_moves_pixels_with_the_landmarks(astronaut, astronaut_face):
    warp = LandmarkWarp(astronaut_face.landmarks, astronaut.shape[:2])
    same = warp(astronaut, astronaut_face.landmarks)
    assert np.abs(same.astype(int) - astronaut).mean() < 1.0
    shifted = astronaut_face.landmarks.copy()
    shifted[:, 0] += 6
    moved = warp(astronaut, shifted)
    x0, y0, x1, y1 = astronaut_face.box.astype(int)
    inner = (slice(y0 + 20, y1 - 20), slice(x0 + 26, x1 - 14))
    source = (slice(y0 + 20, y1 - 20), slice(x0 + 20, x1 - 20))
    assert np.abs(moved[inner].astype(int) - astronaut[source]).mean() < 6  # bilinear resampling only
    assert np.abs(moved[source].astype(int) - astronaut[source]).mean() > 15  # it did move
    assert (moved[:20, :20] == astronaut[:20, :20]).all()  # the picture's border stays put


def test_animate_mode_follows_a_moving_driver(astronaut):
    frames = pan_frames(astronaut, 8, step=6)
    with Engine(mode="animate", device="cpu", portrait=astronaut, size=256) as engine:
        results = [engine.process(Frame(f, index=i, pts=i, time_base=None)) for i, f in enumerate(frames)]
        canvas = engine.mode.canvas
    assert all(r.image.shape == canvas.shape and r.changed for r in results)
    assert np.abs(results[0].image.astype(int) - canvas).mean() < 2  # neutral frame: the portrait itself
    # The driver's face moved left by 42 px (the crop slides right): the portrait's face moved left
    # by the same share of its own size.
    driver_px = results[0].faces[0].box[2] - results[0].faces[0].box[0]
    with Engine(device="cpu") as judge:
        first = judge.process(Frame(results[0].image)).faces[0].box
        judge.reset()
        last = judge.process(Frame(results[-1].image)).faces[0].box
    face_px = first[2] - first[0]
    assert (last[0] - first[0]) / face_px == pytest.approx(-42 / driver_px, abs=0.06)
    assert engine.mode.stats == {"animated": 8, "held": 0}


def test_a_portrait_without_a_face_is_refused(astronaut):
    with pytest.raises(FacepaintError, match="no face found in the portrait"):
        Engine(mode="animate", device="cpu", portrait=np.full((200, 200, 3), 128, np.uint8))


def test_animate_command_keeps_the_driving_audio(tmp_path, astronaut):
    driving = tmp_path / "driver.mp4"
    write_video(driving, pan_frames(astronaut, 6), audio_seconds=0.3)
    out = tmp_path / "animated.mp4"
    run = subprocess.run([sys.executable, "-m", "facepaint", "animate", "sample:astronaut", driving, out,
                          "--size", "200", "--gaze", "1", "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    import av

    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.video[0].codec_context.width == 200
        assert sum(1 for _ in c.decode(video=0)) == 6


@pytest.mark.shared_data
def test_mona_lisa_talks(tmp_path):
    from facepaint.identity import Recognizer
    from facepaint.media import MediaReader, read_image

    portrait = read_image(shared_path("images", "paintings", "mona_lisa.jpg"))
    recognizer = Recognizer()
    with Engine.pipelined("animate", 5, device="cpu", portrait=portrait) as engine, \
            MediaReader(shared_path("video", "driving", "d3.mp4")) as reader:
        results = []
        for frame in reader.frames():
            results += engine.push(frame)
            if frame.index >= 40:
                break
        results += engine.flush()
        canvas = engine.mode.canvas
    reference = recognizer.descriptor(canvas, recognizer.detect(canvas)[0])
    found = 0
    for r in results[::5]:
        boxes = recognizer.detect(r.image)
        if boxes:
            found += 1
            assert np.linalg.norm(recognizer.descriptor(r.image, boxes[0]) - reference) < 0.45  # still her
    assert found >= 0.9 * len(results[::5])
    assert np.abs(results[-1].image.astype(int) - canvas).mean() > 1  # and she moved


def test_teeth_take_the_portraits_palette(astronaut_face):
    """Teeth drawn into a portrait sit in its palette, about as light as its skin: paper-white teeth
    on a dark or varnished picture look pasted on."""
    from facepaint.features import ENAMEL
    from facepaint.modes.animate import LUMA, teeth_colour

    landmarks = astronaut_face.landmarks
    luma = float(ENAMEL @ LUMA)
    warm = np.zeros((512, 512, 3), np.uint8)
    warm[:] = (170, 120, 70)  # a dim, warm picture
    teeth = teeth_colour(warm, landmarks, light_level=1.0)
    assert float(teeth @ LUMA) < 0.8 * luma  # darker than natural ivory under full light
    assert teeth[0] > teeth[2] + 20  # and warm, like the picture
    bright = np.full((512, 512, 3), 230, np.uint8)
    assert float(teeth_colour(bright, landmarks, 1.0) @ LUMA) > float(teeth @ LUMA) + 40
    # The mouth interior takes the light level on top: the colour is given before it.
    assert np.allclose(teeth_colour(warm, landmarks, 2.0) * 2.0, teeth, atol=0.01)


def test_teeth_are_as_light_as_the_lit_side_of_a_face_lit_from_one_side(astronaut_face):
    """A face lit from one side (the Pearl Earring): teeth take the light of its lit side. Taken
    from the whole face, the shaded side dimmed them to grey beside the lit skin."""
    from facepaint.modes.animate import LUMA, teeth_colour

    landmarks = astronaut_face.landmarks
    even = np.full((512, 512, 3), (200, 150, 120), np.uint8)
    side_lit = even.copy()
    nose_x = int(round(landmarks[1, 0]))
    side_lit[:, nose_x:] = (even[:, nose_x:] * 0.35).astype(np.uint8)  # the far half in shadow
    assert float(teeth_colour(side_lit, landmarks, 1.0) @ LUMA) > 0.95 * float(teeth_colour(even, landmarks, 1.0) @ LUMA)


def test_a_driver_found_late_leaves_no_mosaic_on_the_portrait(astronaut):
    """The engine hides late-found faces in held frames; animate's frames show the portrait, so
    there is nothing of the driver to hide there."""
    from facepaint.types import Face

    with Engine(mode="animate", device="cpu", portrait=astronaut) as engine:
        canvas = engine.mode.canvas.copy()
        shown = canvas.copy()
        engine.mode.conceal(shown, Face(track_id=1, box=np.array([50, 50, 200, 200], np.float32), score=1.0))
    assert (shown == canvas).all()


def painted_eyes(iris_share: float = 0.2):
    """A frontal face's landmarks (``face_with_irises``) and a picture of it: grey skin, white eye
    openings, dark irises."""
    import cv2

    from facepaint.features import polygon_mask

    landmarks = face_with_irises(iris_share)
    picture = np.full((512, 512, 3), 150, np.uint8)
    for eye, centre in ((RIGHT_EYE, 468), (LEFT_EYE, 473)):
        opening = polygon_mask(landmarks[eye, :2], (512, 512)) > 0.5
        picture[opening] = 230
        iris = np.zeros((512, 512), np.uint8)
        radius = np.linalg.norm(landmarks[centre + 1, :2] - landmarks[centre, :2])
        cv2.circle(iris, tuple(int(round(v)) for v in landmarks[centre, :2]), int(round(radius)), 1, -1)
        picture[(iris > 0) & opening] = 40
    return landmarks, picture


def test_an_iris_slides_whole_over_the_white():
    """The gaze moves the iris as a rigid disc: lifted out of the picture (the white filled in
    behind it), pasted where the gaze puts it, the same size; none of it stays behind."""
    import cv2

    from facepaint.features import polygon_mask
    from facepaint.irises import IrisSprites

    landmarks, picture = painted_eyes()
    irises = IrisSprites(picture, landmarks)
    eye = RIGHT_EYE
    opening = polygon_mask(landmarks[eye, :2], (512, 512))
    inside = cv2.erode(opening, np.ones((3, 3), np.uint8)) > 0.99
    assert irises.clean[inside].min() > 170  # the white (the iris: 40)
    assert irises.clean[opening > 0].min() > 100  # no iris left in it, not even along the lids
    near = cv2.dilate(sum(polygon_mask(landmarks[e, :2], (512, 512)) for e in (RIGHT_EYE, LEFT_EYE)),
                      np.ones((5, 5), np.uint8)) > 0
    assert irises.clean[~near].tolist() == picture[~near].tolist()  # nothing else touched

    width = np.linalg.norm(landmarks[eye[0], :2] - landmarks[eye[8], :2])
    moved = landmarks.copy()
    moved[468:473, 0] += 0.15 * width
    out = irises.clean.copy()
    irises.draw(out, moved)
    dark = (out[..., 0] < 100) & inside
    before = (picture[..., 0] < 100) & inside
    ys, xs = np.nonzero(dark)
    ys0, xs0 = np.nonzero(before)
    assert xs.mean() - xs0.mean() == pytest.approx(0.15 * width, abs=1.0)  # the whole iris moved
    assert ys.mean() == pytest.approx(ys0.mean(), abs=0.5)
    assert 0.8 < dark.sum() / before.sum() < 1.25  # the same size, not smeared or squeezed

    unmoved = irises.clean.copy()
    irises.draw(unmoved, landmarks)  # no gaze change: the eye as the picture shows it
    assert np.abs(unmoved.astype(int) - picture.astype(int)).mean() < 0.3


def test_an_iris_glanced_past_the_corner_stays_in_the_eye():
    """A portrait that already looks to one side, driven by a glance the same way, is asked for an
    iris beyond its eye's corner: it stops with its edge near the corner, still seen (it slid out of
    sight and left a blank white eye: the Pearl Earring)."""
    import cv2

    from facepaint.features import polygon_mask
    from facepaint.irises import CORNER_MARGIN, IrisSprites

    landmarks, picture = painted_eyes()
    irises = IrisSprites(picture, landmarks)
    opening = polygon_mask(landmarks[RIGHT_EYE, :2], (512, 512))
    inside = cv2.erode(opening, np.ones((3, 3), np.uint8)) > 0.99
    before = ((picture[..., 0] < 100) & inside).sum()
    outer, inner = landmarks[33, :2], landmarks[133, :2]
    radius = np.linalg.norm(landmarks[469, :2] - landmarks[471, :2]) / 2
    for past in (outer, inner):
        moved = landmarks.copy()
        moved[468:473, :2] += past + 0.3 * (past - (outer + inner) / 2) - landmarks[468, :2]
        out = irises.clean.copy()
        irises.draw(out, moved)
        dark = (out[..., 0] < 100) & inside
        assert dark.sum() > 0.3 * before  # a good part of the iris shows (past the corner: 10%)
        ys, xs = np.nonzero(dark)
        centre = np.array([xs.mean(), ys.mean()])
        assert np.linalg.norm(centre - past) > 0.5 * CORNER_MARGIN * radius  # held inside the corner


def test_an_iris_is_hidden_by_closed_lids():
    from facepaint.irises import IrisSprites

    landmarks, picture = painted_eyes()
    irises = IrisSprites(picture, landmarks)
    closed = right_eye_closed(landmarks, 1.0)
    out = irises.clean.copy()
    irises.draw(out, closed)
    x0, x1 = int(landmarks[33, 0]), int(landmarks[133, 0])
    y0, y1 = int(landmarks[159, 1]) - 2, int(landmarks[145, 1]) + 2
    assert (out[y0:y1, x0:x1, 0] < 100).sum() == 0


def test_a_shutting_eye_darkens_to_a_lash_line():
    """Lids at a tenth of their opening: the slit that shows the picture's white darkens toward a
    lash line (the picture has none: at most LASH_LEVEL of the lid's light), and a little past the
    outline; an eye still half open and the other, open eye are left as they are."""
    from facepaint.irises import LASH_LEVEL, LidShade

    landmarks, picture = painted_eyes()
    lids = LidShade(picture, landmarks)
    white = np.full_like(picture, 230)  # every pixel the white, as a bright slit would be
    x0, x1 = int(landmarks[33, 0]) + 3, int(landmarks[133, 0]) - 3
    for share, darkest in ((0.9, 230 - 0.4 * (230 - LASH_LEVEL * 150)), (0.4, 230)):
        moved = right_eye_closed(landmarks, share)
        out = white.copy()
        lids.draw(out, moved)
        y = int(round((moved[159, 1] + moved[145, 1]) / 2))
        slit = out[y - 1:y + 2, x0:x1, 0].astype(float)
        assert np.median(slit) <= darkest, (share, np.median(slit))
        assert (out[:, int(landmarks[263, 0]) - 5:] == 230).all()  # the left eye: open
    shut = white.copy()
    lids.draw(shut, right_eye_closed(landmarks, 0.9))
    below = int(round(landmarks[145, 1])) + 1  # a pixel under the lower lid: shaded too
    assert shut[below, (x0 + x1) // 2, 0] < 200


def test_a_black_and_white_portrait_opens_a_grey_mouth(astronaut):
    """A black-and-white portrait (the Yale photos) keeps no colour when it opens its mouth: the
    drawn interior, its shadow and teeth, are grey like the rest (they were red)."""
    from facepaint.modes.animate import Animate
    from facepaint.draw import LIPS_INNER

    grey = np.repeat((astronaut @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None], 3, axis=2)
    for picture, coloured in ((grey, False), (astronaut, True)):
        mode = Animate(portrait=picture, size=512)
        target = mode.portrait_face.landmarks.copy()
        height = np.linalg.norm(target[10, :2] - target[152, :2])
        lower_lip_and_chin = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 314, 152]
        target[lower_lip_and_chin, 1] += 0.08 * height  # the jaw drops: the lips part
        out = mode.draw(target).astype(int)
        x0, y0 = target[LIPS_INNER, :2].min(0).astype(int)
        x1, y1 = target[LIPS_INNER, :2].max(0).astype(int)
        mouth = out[y0:y1, x0:x1]
        spread = np.ptp(mouth, axis=2).max()
        assert (spread > 10) if coloured else (spread <= 2), spread
