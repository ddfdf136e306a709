"""``facepaint`` command line: one sub-command per job, each with --help and a real example."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import FacepaintError

# MediaPipe's C++ logging writes to stderr at import; keep the CLI's output readable.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPILOG_ANONYMIZE = """examples:
  facepaint anonymize sample:astronaut nobody.png
  facepaint anonymize street.mp4 street-anonymized.mp4 --seed 7
  facepaint anonymize crowd.jpg crowd-hidden.jpg --fallback solid

Every face is redrawn as a synthetic person (same expression, pose and gaze); faces that
cannot be redrawn well (tiny, turned away, lost for a frame) are hidden with --fallback.
"""

EPILOG_PAINT = """examples:
  facepaint paint sample:astronaut astronaut-starry.png --style starry-night
  facepaint paint talk.mp4 talk-scream.mp4 --style the-scream --region frame
  facepaint paint talk.mp4 talk-mine.mp4 --style my-painting.jpg --strength 0.7
  facepaint anonymize talk.mp4 nobody-painted.mp4 --style the-great-wave   (anonymize, then paint)

'facepaint styles' lists the named styles; any image file works as a style.
"""

EPILOG_ANIMATE = """examples:
  facepaint animate mona_lisa.jpg me-talking.mp4 mona-talks.mp4
  facepaint animate portrait.jpg driver.mp4 out.mp4 --size 768 --crop full --neutral-frame 12

The portrait keeps its own face; it moves relative to the driver's neutral frame. The driving
video's audio is kept.
"""

# Which options each mode of 'facepaint pipe' takes from the command line.
PIPE_MODES = {
    "anonymize": ("seed", "candidates", "fallback", "faces", "keep"),
    "paint": ("style", "region", "strength", "detail", "temporal", "faces", "keep"),
}

EPILOG_FACES = """examples:
  facepaint faces sample:astronaut --draw astronaut-faces.png --json astronaut.json
  facepaint faces talk.mp4 --json talk.json --draw talk-faces.mp4
"""


def _add_engine_options(parser: "argparse._ActionsContainer", detect_every: int = 1, quiet: bool = True) -> None:
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where torch and ONNX models run (default: auto = CUDA when present)")
    parser.add_argument("--detect-every", type=_positive_int, default=detect_every, metavar="N",
                        help="run the full face detector every N video frames, tracking in between "
                             f"(default {detect_every}; higher is faster)")
    if quiet:  # not for pipe, whose progress is --stats
        parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_selection_options(group: "argparse._ActionsContainer") -> None:
    group.add_argument("--faces", choices=["all", "largest"], default="all",
                       help="which faces to treat (default all; largest: only the biggest face per frame)")
    group.add_argument("--keep", action="append", default=[], metavar="REF.jpg",
                       help="leave faces matching this reference photo untouched (repeatable)")


def _add_anonymize_options(parser: argparse.ArgumentParser, selection: bool = True) -> None:
    group = parser.add_argument_group("anonymize options")
    group.add_argument("--seed", type=int, default=0,
                       help="choice of synthetic people: the same seed gives the same faces (default 0)")
    group.add_argument("--candidates", type=_positive_int, default=8, metavar="N",
                       help="a new face's synthetic person is the least alike of N, as a second recogniser "
                            "(FaceNet) judges (default 8; 1 is fastest when a face appears)")
    group.add_argument("--fallback", choices=["mosaic", "blur", "solid"], default="mosaic",
                       help="how faces that cannot be redrawn are hidden (default: noisy mosaic)")
    if selection:
        _add_selection_options(group)


def _add_paint_options(parser: argparse.ArgumentParser, style_required: bool, with_anonymize: bool = False) -> None:
    group = parser.add_argument_group("paint options")
    group.add_argument("--style", required=style_required, default=None, metavar="NAME|PAINTING.jpg",
                       help="a named style (see 'facepaint styles': starry-night, the-scream, ...), a classical "
                            "filter (oil, watercolour, ink) or any image file to take the style from"
                            + ("; the synthetic faces are painted after anonymizing" if with_anonymize else ""))
    group.add_argument("--strength" if not with_anonymize else "--style-strength", dest="strength",
                       type=_unit_float, default=1.0, metavar="0..1",
                       help="how far towards the painting (default 1; lower keeps more of the picture's own look)")
    group.add_argument("--detail" if not with_anonymize else "--style-detail", dest="detail",
                       type=_unit_float, default=0.7 if with_anonymize else 0.8, metavar="0..1",
                       help="how much of the face's own fine structure (mouth corners, brow and eyelid lines) "
                            "shows through the brush strokes, so the expression reads (default "
                            + ("0.7)" if with_anonymize else "0.8)"))
    if not with_anonymize:
        group.add_argument("--region", choices=["face", "person", "frame"], default="face",
                           help="paint the faces (soft mask up to the hairline), the people (faces, hair, bodies; "
                                "the background stays) or the whole frame (default face)")
        group.add_argument("--temporal", type=_temporal, default=0.97, metavar="0..0.97",
                           help="video: weight of the previous painted frame, warped by optical flow, against "
                                "flicker (default 0.97; 0 paints every frame afresh)")
        _add_selection_options(group)


EPILOG_PIPE = """examples (keep every pts, VFR included, and the audio):
  ffmpeg -copyts -i SRC -map 0:v -map 0:a? -c:v rawvideo -pix_fmt yuv420p -enc_time_base:v -1 \\
      -c:a copy -fps_mode passthrough -f nut - \\
    | facepaint pipe --mode anonymize \\
    | ffmpeg -copyts -f nut -i - -map 0 -c:v libx264 -enc_time_base:v -1 -c:a copy \\
      -fps_mode passthrough OUT.mkv

  ffmpeg -i SRC -f yuv4mpegpipe - | facepaint pipe --in y4m --mode anonymize | ffplay -

Only the video stream travels as raw frames; audio and other streams pass packet for packet.
Progress and speed go to stderr (--stats json for machines); stdout carries only the stream.
Exit codes: 0 done, 2 bad input, 130 interrupted, 141 the downstream process closed the pipe.
"""


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _temporal(text: str) -> float:
    value = _unit_float(text)
    if value > 0.97:
        raise argparse.ArgumentTypeError(f"at most 0.97 (1 would freeze the first frame), got {value}")
    return value


def _frame_range(text: str) -> tuple[int, int]:
    first, sep, count = text.partition(":")
    try:
        value = (int(first), int(count))
    except ValueError:
        raise argparse.ArgumentTypeError(f"use FIRST:COUNT (video frame numbers from 0), got {text!r}") from None
    if not sep or value[0] < 0 or value[1] < 1:
        raise argparse.ArgumentTypeError(f"use FIRST:COUNT with FIRST >= 0 and COUNT >= 1, got {text!r}")
    return value


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output options (editors)")
    group.add_argument("--frames", type=_frame_range, default=None, metavar="FIRST:COUNT",
                       help="only these video frames (0-based); the output holds exactly them, from time 0, "
                            "without audio (for a strip's visible range)")
    group.add_argument("--lossless", action="store_true",
                       help="write lossless video (FFV1, RGB, .mkv): an intermediate for editing")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="facepaint",
        description="Anonymize, paint and animate faces in images and videos.",
    )
    parser.add_argument("--version", action="version", version=f"facepaint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    faces = sub.add_parser(
        "faces", help="find, track and measure every face (boxes, 478 landmarks, blendshapes, pose)",
        description="Run the face stack on an image or video and report what it sees.",
        epilog=EPILOG_FACES, formatter_class=argparse.RawDescriptionHelpFormatter)
    faces.add_argument("input", help="image or video file, or sample:astronaut")
    faces.add_argument("--json", metavar="OUT.json", help="write per-frame faces as JSON (pixel coordinates)")
    faces.add_argument("--draw", metavar="OUT", help="write the input with faces drawn on it (.png, .jpg, .mp4, .mkv, ...)")
    _add_engine_options(faces)

    anonymize = sub.add_parser(
        "anonymize", help="replace every face with the face of nobody, keeping expression, pose and gaze",
        description="Redraw every face as a synthetic person; hide the ones that cannot be redrawn well.",
        epilog=EPILOG_ANONYMIZE, formatter_class=argparse.RawDescriptionHelpFormatter)
    anonymize.add_argument("input", help="image or video file, or sample:astronaut")
    anonymize.add_argument("output", help="output file; its extension picks the format (.png, .jpg, .mp4, .mkv, ...)")
    _add_anonymize_options(anonymize)
    _add_paint_options(anonymize, style_required=False, with_anonymize=True)
    _add_output_options(anonymize)
    anonymize.add_argument("--json", metavar="OUT.json", help="also write the faces found per frame")
    anonymize.add_argument("--audit", action="store_true",
                           help="afterwards, judge the output with an independent face recogniser "
                                "(writes OUT.audit.json; exit 1 if any face can be re-identified)")
    _add_engine_options(anonymize, detect_every=5)

    paint = sub.add_parser(
        "paint", help="redraw faces (or the whole frame) in a painter's style, keeping the expression",
        description="Paint the faces, or the whole frame, in the style of a painting.",
        epilog=EPILOG_PAINT, formatter_class=argparse.RawDescriptionHelpFormatter)
    paint.add_argument("input", help="image or video file, or sample:astronaut")
    paint.add_argument("output", help="output file; its extension picks the format (.png, .jpg, .mp4, .mkv, ...)")
    _add_paint_options(paint, style_required=True)
    _add_output_options(paint)
    paint.add_argument("--json", metavar="OUT.json", help="also write the faces found per frame")
    _add_engine_options(paint, detect_every=5)

    animate = sub.add_parser(
        "animate", help="make a still portrait (a photo, a painting) move like the face in a video",
        description="Drive PORTRAIT's face with the expressions and head motion of the face in DRIVING.",
        epilog=EPILOG_ANIMATE, formatter_class=argparse.RawDescriptionHelpFormatter)
    animate.add_argument("portrait", help="a picture with a face (photo or painting), or sample:astronaut")
    animate.add_argument("driving", help="a video (or picture) of the face that drives it")
    animate.add_argument("output", help="output video; its extension picks the format (.mp4, .mkv, ...)")
    animate.add_argument("--size", type=_positive_int, default=512, metavar="PX",
                         help="longer side of the output in pixels (default 512)")
    animate.add_argument("--crop", choices=["face", "full"], default="face",
                         help="face: a square around the portrait's face (default); full: the whole picture")
    animate.add_argument("--neutral-frame", type=int, default=0, metavar="N",
                         help="driving frame whose face counts as neutral (default 0: the first with a face); "
                              "the portrait shows its own expression there")
    animate.add_argument("--motion", type=_unit_float, default=1.0, metavar="0..1",
                         help="how much of the driver's head movement across the picture to follow "
                              "(default 1; turns, nods and expressions always follow)")
    animate.add_argument("--gaze", type=_unit_float, default=0.5, metavar="0..1",
                         help="1: the portrait looks where the driver looks; 0: its own gaze, moved as the "
                              "driver's eyes move (default 0.5)")
    animate.add_argument("--json", metavar="OUT.json", help="also write the driver's faces per frame")
    _add_output_options(animate)
    _add_engine_options(animate, detect_every=5)

    serve = sub.add_parser(
        "serve", help="run the engine as a local service for OBS (frames through shared memory)",
        description="Serve the engine to host adapters (OBS) on a Unix socket; frames travel through "
                    "shared memory. Each connected source gets its own engine.")
    serve.add_argument("--socket", default=None, metavar="PATH",
                       help="Unix socket to listen on (default $FACEPAINT_SOCKET or /tmp/facepaint-UID.sock)")
    serve.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                       help="stop after this long without clients (default: run until Ctrl-C)")
    serve.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                       help="where torch and ONNX models run (default: auto = CUDA when present)")

    sub.add_parser("styles", help="list the named styles (painter, title, year) and classical filters",
                   description="List the styles 'facepaint paint --style' and 'anonymize --style' accept.")

    audit = sub.add_parser(
        "audit", help="privacy report: can an independent face recogniser still identify anyone?",
        description="Compare an original with its anonymized output using dlib's face recogniser "
                    "(never used by facepaint's generator). Exit 1 if any face is re-identified.",
        epilog="examples:\n  facepaint audit street.mp4 street-anonymized.mp4 --json report.json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    audit.add_argument("original", help="the original image or video (or sample:astronaut)")
    audit.add_argument("output", help="its anonymized version (same size and frame count)")
    audit.add_argument("--json", metavar="REPORT.json", help="write the full report as JSON")
    audit.add_argument("--every", type=_positive_int, default=5, metavar="N",
                       help="judge every N-th frame of a video (default 5; 1 = all)")
    audit.add_argument("--min-size", type=_positive_int, default=40, metavar="PX",
                       help="judge faces at least this many pixels tall (default 40)")
    audit.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help=argparse.SUPPRESS)

    pipe = sub.add_parser(
        "pipe", help="filter raw video between two ffmpeg processes (NUT or y4m on stdin and stdout)",
        description="Read NUT (or yuv4mpegpipe) on stdin, run a mode on every frame, write the same "
                    "format on stdout with identical timestamps.",
        epilog=EPILOG_PIPE, formatter_class=argparse.RawDescriptionHelpFormatter)
    pipe.add_argument("--mode", required=True, choices=list(PIPE_MODES), help="what to do to the faces")
    pipe.add_argument("--in", dest="input_format", choices=["nut", "y4m"], default="nut",
                      help="stdin format (default nut: keeps VFR timestamps and audio)")
    pipe.add_argument("--out", dest="output_format", choices=["nut", "y4m"], default=None,
                      help="stdout format (default: as --in)")
    pipe.add_argument("--overload", choices=["block", "drop"], default="block",
                      help="block: never lose a frame (default); drop: for live input, skip frames "
                           "when the filter falls behind (skipped frames are not written at all)")
    pipe.add_argument("--stats", choices=["text", "json", "none"], default="text",
                      help="speed and latency on stderr every 2 s and at the end (default text)")
    _add_anonymize_options(pipe, selection=False)
    _add_paint_options(pipe, style_required=False)
    _add_engine_options(pipe.add_argument_group("engine"), detect_every=5, quiet=False)

    demo = sub.add_parser("demo", help="run the main job on the built-in sample portrait",
                          description="Run facepaint on sample:astronaut and write what it made to a folder.")
    demo.add_argument("--out", default="demo", metavar="DIR", help="output folder (default: ./demo)")
    _add_engine_options(demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    import signal

    # Ctrl-C / SIGINT must stop a job cleanly (exit 130, nothing half-written) even when we were
    # started with SIGINT ignored, as shells do for background jobs: hosts cancel us with it.
    if threading_is_main():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "faces":
            return cmd_faces(args)
        if args.command == "anonymize":
            return cmd_anonymize(args)
        if args.command == "paint":
            return cmd_paint(args)
        if args.command == "animate":
            return cmd_animate(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "styles":
            return cmd_styles(args)
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "pipe":
            return cmd_pipe(args)
        if args.command == "demo":
            return cmd_demo(args)
    except FacepaintError as exc:
        print(f"facepaint: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facepaint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The process reading our stdout went away: stop quietly, like any Unix filter.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("facepaint: the downstream process closed the pipe", file=sys.stderr)
        return 141
    except Exception as exc:  # a bug: say so in one line; FACEPAINT_DEBUG=1 shows the traceback
        if os.environ.get("FACEPAINT_DEBUG"):
            raise
        print(f"facepaint: internal error: {exc.__class__.__name__}: {exc} "
              "(set FACEPAINT_DEBUG=1 for details)", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command}")
    return 2


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def cmd_faces(args: argparse.Namespace) -> int:
    if not args.json and not args.draw:
        raise FacepaintError("nothing to write: give --json OUT.json and/or --draw OUT")
    from .pipeline import run_faces

    summary = run_faces(args.input, json_path=args.json, draw_path=args.draw, device=args.device,
                        detect_every=args.detect_every, progress=not args.quiet)
    print(summary, file=sys.stderr)
    return 0


def cmd_anonymize(args: argparse.Namespace) -> int:
    from .pipeline import run_mode

    summary = run_mode("anonymize", args.input, args.output, json_path=args.json, device=args.device,
                       detect_every=args.detect_every, progress=not args.quiet, seed=args.seed,
                       candidates=args.candidates, fallback=args.fallback, faces=args.faces, keep=args.keep,
                       style=args.style, style_strength=args.strength, style_detail=args.detail, frames=args.frames,
                       lossless=args.lossless)
    print(summary, file=sys.stderr)
    if args.audit:
        from .audit import run_audit

        report = run_audit(args.input, args.output, device=args.device)
        report_path = Path(str(args.output) + ".audit.json")
        _write_json(report_path, report.as_dict())
        print(report.summary(), file=sys.stderr)
        print(f"audit report: {report_path}", file=sys.stderr)
        return 1 if report.reidentified else 0
    return 0


def cmd_paint(args: argparse.Namespace) -> int:
    from .pipeline import run_mode

    summary = run_mode("paint", args.input, args.output, json_path=args.json, device=args.device,
                       detect_every=args.detect_every, progress=not args.quiet, style=args.style,
                       region=args.region, strength=args.strength, detail=args.detail, temporal=args.temporal,
                       faces=args.faces, keep=args.keep, frames=args.frames, lossless=args.lossless)
    print(summary, file=sys.stderr)
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    from .pipeline import run_mode
    from .samples import is_sample, load_sample

    if args.neutral_frame < 0:
        raise FacepaintError(f"--neutral-frame must be 0 or more, got {args.neutral_frame}")
    if args.size < 64:
        raise FacepaintError(f"--size must be at least 64, got {args.size}")
    if is_sample(args.portrait):
        portrait = load_sample(args.portrait)
    else:
        from .media import read_image

        portrait = read_image(args.portrait)
    summary = run_mode("animate", args.driving, args.output, json_path=args.json, device=args.device,
                       detect_every=args.detect_every, progress=not args.quiet, portrait=portrait,
                       size=args.size, crop=args.crop, neutral_frame=args.neutral_frame, motion=args.motion,
                       gaze=args.gaze,
                       frames=args.frames, lossless=args.lossless)
    print(summary, file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    from .service import EngineService

    service = EngineService(args.socket, device=args.device, idle_exit=args.idle_exit)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    print(f"facepaint: serving on {service.path} (Ctrl-C stops)", file=sys.stderr, flush=True)
    service.serve_forever()
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    from .style import list_styles

    for row in list_styles():
        who = f"{row['painter']}, {row['title']} ({row['year']})" if row["painter"] else row["title"]
        print(f"{row['name']:18s} {who}")
    print("or any image file: --style my-painting.jpg")
    return 0


def cmd_pipe(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .pipe import run_pipe

    if args.mode == "paint" and not args.style:
        raise FacepaintError("--mode paint needs --style (see 'facepaint styles')")
    options = {name: getattr(args, name) for name in PIPE_MODES[args.mode]}
    with Engine.pipelined(args.mode, args.detect_every, device=args.device, **options) as engine:
        run_pipe(engine, input_format=args.input_format, output_format=args.output_format,
                 overload=args.overload, stats=args.stats)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from .audit import run_audit

    report = run_audit(args.original, args.output, every=args.every, min_size=args.min_size, device=args.device)
    if args.json:
        _write_json(Path(args.json), report.as_dict())
    print(report.summary())
    return 1 if report.reidentified else 0


def _write_json(path: Path, data: dict) -> None:
    from .media import AtomicPath

    out = AtomicPath(path)
    out.temp.write_text(json.dumps(data, indent=2) + "\n")
    out.commit()


def cmd_demo(args: argparse.Namespace) -> int:
    from .pipeline import run_faces, run_mode

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(device=args.device, detect_every=args.detect_every, progress=not args.quiet)
    run_faces("sample:astronaut", json_path=out / "astronaut-faces.json", draw_path=out / "astronaut-faces.png",
              **common)
    summary = run_mode("anonymize", "sample:astronaut", out / "astronaut-anonymized.png", **common)
    print(summary, file=sys.stderr)
    run_mode("paint", "sample:astronaut", out / "astronaut-starry-night.png", style="starry-night", **common)
    print(f"wrote {out / 'astronaut-anonymized.png'} (anonymized), {out / 'astronaut-starry-night.png'} "
          f"(face painted), {out / 'astronaut-faces.png'} and {out / 'astronaut-faces.json'} "
          "(what the face stack sees)")
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
