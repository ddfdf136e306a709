import json
import subprocess
import sys

from facepaint.audit import AuditReport, Recognizer, audit_frame
from facepaint.engine import Engine
from facepaint.types import Frame


def test_judge_catches_an_unchanged_face_and_passes_an_anonymized_one(astronaut, landmarker):
    recognizer = Recognizer()
    with Engine(mode="anonymize", device="cpu") as engine:
        result = engine.process(Frame(astronaut))
    leaked, judged = AuditReport(), AuditReport()
    def confirm(image, box):
        return landmarker(image, box) is not None

    audit_frame(leaked, recognizer, 0, astronaut, astronaut.copy(), result.faces, confirm)
    audit_frame(judged, recognizer, 0, astronaut, result.image, result.faces, confirm)
    assert leaked.reidentified == 1 and leaked.tracks[1].distances[0] < 0.1
    assert judged.reidentified == 0 and judged.tracks[1].distances[0] >= 0.6
    assert judged.as_dict()["faces_sampled"] == 1
    assert judged.unconfirmed == 1  # HOG's false box on the suit is checked and dismissed


def test_faces_our_stack_missed_are_caught_by_the_second_detector(astronaut):
    recognizer = Recognizer()
    report = AuditReport()
    # Pretend the face stack found nothing: HOG still sees the face and the output shows it.
    audit_frame(report, recognizer, 0, astronaut, astronaut.copy(), [], confirm=lambda image, box: True)
    assert report.untreated and report.reidentified >= 1


def test_cli_audit_exit_codes(tmp_path):
    out = tmp_path / "nobody.png"
    run = subprocess.run([sys.executable, "-m", "facepaint", "anonymize", "sample:astronaut", str(out), "--audit"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "nobody.png.audit.json").read_text())
    assert report["faces_sampled"] == 1 and report["faces_reidentified"] == 0
    from facepaint.samples import load_sample
    from facepaint.media import MediaWriter

    same = tmp_path / "same.png"
    image = load_sample("sample:astronaut")
    with MediaWriter(same, 512, 512) as writer:
        writer.write(image, Frame(image))
    fail = subprocess.run([sys.executable, "-m", "facepaint", "audit", str(same), str(same), "--json",
                           str(tmp_path / "r.json")], capture_output=True, text=True)
    assert fail.returncode == 1 and "FAIL" in fail.stdout
    assert json.loads((tmp_path / "r.json").read_text())["faces_reidentified"] == 1
