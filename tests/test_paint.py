"""Paint mode and the style network: real networks on the real sample portrait."""

import numpy as np
import pytest

from facepaint.engine import Engine
from facepaint.errors import FacepaintError
from facepaint.modes.paint import TemporalCoherence, head_mask, square_crop
from facepaint.style import StyleNetwork, list_styles, resolve_style
from facepaint.types import Frame
from conftest import pan_frames, write_video


@pytest.fixture(scope="module")
def network():
    return StyleNetwork(device="cpu")


def test_the_network_paints_any_size_and_batches_consistently(network, astronaut):
    style = resolve_style("starry-night", network)
    odd = astronaut[:101, :77]
    (painted,) = style.apply([odd])
    assert painted.shape == odd.shape and painted.dtype == np.uint8
    crops = [astronaut[:128, :128], astronaut[100:228, 200:328], astronaut[:64, :96]]
    together = style.apply(crops)
    alone = [style.apply([c])[0] for c in crops]
    for a, b, c in zip(together, alone, crops):
        assert a.shape == c.shape and np.abs(a.astype(int) - b).max() <= 1
    # It is a painting, not the photo: colours move towards Starry Night's blues.
    assert np.abs(painted.astype(int) - odd).mean() > 20


def test_styles_resolve_by_name_filter_or_file(network, tmp_path, astronaut):
    names = {row["name"] for row in list_styles()}
    assert {"starry-night", "the-scream", "the-great-wave", "composition-vii", "oil", "watercolour", "ink"} <= names
    assert resolve_style("the-scream", network).painter == "Edvard Munch"
    assert resolve_style("oil", network).kind == "filter"
    import cv2

    cv2.imwrite(str(tmp_path / "mine.png"), astronaut[:, :, ::-1])
    mine = resolve_style(str(tmp_path / "mine.png"), network)
    assert mine.kind == "neural" and mine.vector.shape == (100,)
    with pytest.raises(FacepaintError, match="unknown style"):
        resolve_style("no-such-style", network)


def test_strength_moves_the_style_towards_the_picture(network, astronaut):
    full = resolve_style("starry-night", network)
    half = full.with_strength(0.3, astronaut)
    (a,), (b,) = full.apply([astronaut[:128, :128]]), half.apply([astronaut[:128, :128]])
    original = astronaut[:128, :128].astype(int)
    assert np.abs(b - original).mean() < np.abs(a - original).mean()


def test_face_region_paints_the_face_and_leaves_the_rest_bit_exact(astronaut):
    with Engine(mode="paint", device="cpu", style="starry-night") as engine:
        result = engine.process(Frame(astronaut))
    (face,) = result.faces
    ys, xs, mask = head_mask(face, astronaut.shape[:2])
    outside = np.ones(astronaut.shape[:2], bool)
    outside[ys, xs] = mask <= 0
    assert (result.image[outside] == astronaut[outside]).all()
    inner = np.zeros(astronaut.shape[:2], bool)
    inner[ys, xs] = mask > 0.9
    assert np.abs(result.image[inner].astype(int) - astronaut[inner]).mean() > 15
    # The hairline is in: the mask reaches above the top landmark of the forehead.
    assert ys.start < face.landmarks[10, 1] - 10
    # The expression survives the paint: the face stack still sees the same smile.
    with Engine(device="cpu") as judge:
        (again,) = judge.process(Frame(result.image)).faces
    for name in ("mouthSmileLeft", "mouthSmileRight"):
        assert again.blendshapes[name] > 0.5 * face.blendshapes[name]
    assert result.changed and engine.mode.stats["painted"] == 1


def test_frame_region_paints_everything_even_without_faces(astronaut):
    empty = np.ascontiguousarray(astronaut[300:, 300:])  # suit and helmet, no face
    with Engine(mode="paint", device="cpu", style="the-scream", region="frame") as engine:
        result = engine.process(Frame(empty))
    assert not result.faces and result.changed
    assert np.abs(result.image.astype(int) - empty).mean() > 15
    with Engine(mode="paint", device="cpu", style="the-scream") as engine:
        result = engine.process(Frame(empty))
    assert not result.changed and (result.image == empty).all()


def test_person_region_paints_people_and_leaves_the_background(astronaut):
    """The selfie segmenter decides: the astronaut (face, hair, suit) is painted, the shuttle and
    the wall behind stay bit-exact."""
    with Engine(mode="paint", device="cpu", style="the-scream", region="person") as engine:
        result = engine.process(Frame(astronaut))
    (face,) = result.faces
    changed = np.abs(result.image.astype(int) - astronaut).mean(axis=2)
    suit, background = (slice(350, 500), slice(60, 250)), (slice(0, 100), slice(330, 512))
    assert changed[suit].mean() > 15
    x0, y0, x1, y1 = face.box.astype(int)
    assert changed[y0:y1, x0:x1].mean() > 15
    assert (changed[background] == 0).mean() > 0.9
    assert result.changed


def test_the_person_mask_does_not_outlive_its_shot(astronaut):
    """After a cut to an empty wall nothing is painted, at once: neither the previous shot's person
    mask nor its painting carries over (on a cut the engine is reset; a person who leaves without
    one also disappears from the mask at once)."""
    from facepaint.segment import PersonSegmenter

    import cv2

    wall = cv2.resize(np.ascontiguousarray(astronaut[0:60, 330:512]), astronaut.shape[1::-1])  # no one there
    segmenter = PersonSegmenter()
    assert segmenter(astronaut)[400:500, 60:250].mean() > 0.8  # the suit
    assert segmenter(wall)[400:500, 60:250].mean() < 0.1  # no cut announced: gone in one frame anyway
    with Engine(mode="paint", device="cpu", style="the-scream", region="person") as engine:
        engine.process(Frame(astronaut))
        engine.reset()
        result = engine.process(Frame(wall))
    assert np.abs(result.image.astype(int) - wall).mean() < 1


def test_classical_filters_work_on_faces(astronaut):
    for name in ("oil", "watercolour", "ink"):
        with Engine(mode="paint", device="cpu", style=name) as engine:
            result = engine.process(Frame(astronaut))
        (face,) = result.faces
        x0, y0, x1, y1 = face.box.astype(int)
        assert np.abs(result.image[y0:y1, x0:x1].astype(int) - astronaut[y0:y1, x0:x1]).mean() > 3, name


def test_square_crop_mirrors_what_lies_outside_the_frame(astronaut):
    crop, corner = square_crop(astronaut, (10.0, 20.0), 100)
    assert crop.shape == (100, 100, 3) and corner == (-40, -30)
    assert (crop[30:, 40:] == astronaut[:70, :60]).all()


def test_temporal_coherence_calms_a_still_scene_and_follows_a_cut(astronaut):
    rng = np.random.default_rng(0)
    smooth = TemporalCoherence(weight=0.6)
    image = astronaut[:200, :200]
    outs = []
    for _ in range(6):
        painted = image.astype(np.float32) + rng.normal(0, 10, image.shape).astype(np.float32)  # flickering paint
        outs.append(smooth(image, painted))
    step_in = np.abs(np.diff(np.stack(outs[1:]), axis=0)).mean()
    assert step_in < 0.75 * 10 * np.sqrt(2) * np.sqrt(2 / np.pi)  # below the raw noise's frame-to-frame change
    cut = np.ascontiguousarray(astronaut[300:500, 300:500])
    fresh = cut.astype(np.float32)
    assert np.abs(smooth(cut, fresh) - fresh).mean() < 3  # nothing of the previous shot bleeds in


def test_clamped_history_does_not_ghost():
    """On flat skin the input's flow cannot see a drawn feature move: the previous drawing, moved by
    a flow of zero, would leave a ghost of the feature where it was. Clamped to the fresh drawing's
    neighbourhood it cannot; small wobble is still smoothed."""
    flat = np.full((64, 64, 3), 150, np.uint8)  # the input: plain skin, nothing moves in it
    before, after = np.full((64, 64, 3), 150, np.float32), np.full((64, 64, 3), 150, np.float32)
    before[20:26, 10:30] = 40  # a dark drawn brow ...
    after[20:26, 34:54] = 40  # ... that moved 24 px to the right
    for clamp, ghost_expected in ((0, True), (3, False)):
        smooth = TemporalCoherence(weight=0.85, clamp=clamp)
        smooth(flat, before)
        out = smooth(flat, after)
        ghost = 150 - out[20:26, 10:30].mean()
        assert (ghost > 50) == ghost_expected
    smooth = TemporalCoherence(weight=0.85, clamp=3)
    smooth(flat, after)
    wobbled = after + np.random.default_rng(0).normal(0, 4, after.shape).astype(np.float32)
    assert np.abs(smooth(flat, wobbled) - after).mean() < 0.6 * np.abs(wobbled - after).mean()


def test_anonymize_with_style_paints_the_synthetic_face(astronaut):
    with Engine(mode="anonymize", device="cpu") as engine:
        plain = engine.process(Frame(astronaut)).image
    with Engine(mode="anonymize", device="cpu", style="the-great-wave") as engine:
        result = engine.process(Frame(astronaut))
    (face,) = result.faces
    x0, y0, x1, y1 = face.box.astype(int)
    assert np.abs(result.image[y0:y1, x0:x1].astype(int) - plain[y0:y1, x0:x1]).mean() > 10
    far = np.ones(astronaut.shape[:2], bool)
    far[0:260, 120:330] = False
    assert (result.image[far] == astronaut[far]).all()


def test_anonymize_style_judges_its_candidates_painted_without_touching_the_shot(astronaut):
    """With --style the candidates are compared painted (trials); a trial must leave the painter's
    shot as it was: no style fixed, no previous frame to blend with, nothing counted."""
    with Engine(mode="anonymize", device="cpu", style="starry-night", style_strength=0.6, candidates=2) as engine:
        painter = engine.mode.painter
        assert engine.mode.spread == 1.0  # painted people keep the full spread
        face = engine.faces(Frame(astronaut))[0]
        trial = painter.paint_faces(astronaut, [face], trial=True)
        assert np.abs(trial.astype(int) - astronaut).mean() > 1  # it did paint
        assert painter._shot_style is None and painter.temporal._painted is None
        assert painter.stats["painted"] == 0
        engine.faces.reset()
        engine.process(Frame(astronaut))
        assert painter._shot_style is not None and painter.stats["painted"] == 1


def test_whole_frame_strokes_move_with_the_face(astronaut):
    """A face panning across the frame keeps its strokes: the frame is painted shifted so the face
    sits on the same spot of the network's grid. Against painting each frame afresh (a reset
    before each: no anchor, no blending), the face's painting changes much less from frame to
    frame once the pan is undone."""
    step = 3  # not a multiple of the network's stride
    frames = pan_frames(astronaut, 6, step=step)

    def changes(anchored):
        with Engine(mode="paint", device="cpu", region="frame", temporal=0.0) as engine:
            outs = []
            for i, image in enumerate(frames):
                if not anchored:
                    engine.mode.reset()
                result = engine.process(Frame(image, index=i, pts=i))
                outs.append(result.image.astype(np.float32))
                if i == 0:
                    x0, y0, x1, y1 = result.faces[0].box.astype(int)
        # Frame i shows the first frame's content step * i px further left: realign, then compare.
        return np.mean([np.abs(outs[i][y0:y1, x0 - step * i:x1 - step * i] - outs[0][y0:y1, x0:x1]).mean()
                        for i in range(1, len(outs))])

    anchored, fresh = changes(True), changes(False)
    assert anchored < 0.7 * fresh


def test_painted_video_keeps_every_frame(tmp_path, astronaut):
    from facepaint.media import MediaReader
    from facepaint.pipeline import run_mode

    src, out = tmp_path / "walk.mp4", tmp_path / "painted.mp4"
    write_video(src, pan_frames(astronaut, 8), pts=[0, 40, 80, 120, 160, 240, 280, 320], audio_seconds=0.4)
    summary = run_mode("paint", str(src), out, device="cpu", style="udnie", progress=False)
    assert summary.frames == 8 and summary.mode_stats["painted"] == 8
    with MediaReader(out) as reader:
        assert [s.type for s in reader.other_streams()] == ["audio"]
        frames = list(reader.frames())
    assert [round(f.time, 2) for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.24, 0.28, 0.32]
