"""facepaint pipe figures (issue 5): the pipe's own overhead, and the anonymize chain's speed.

Overhead: the same ffmpeg -> X -> ffmpeg chain at 1280x720 with X = cat, and X = facepaint's pipe
machinery with a pass-through engine (demux, RGB conversion, mux; no face work). Speed: the full
chain in anonymize mode at 640x360 and 1280x720, decode and encode included.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facepaint.types import FrameResult


class PassThrough:
    """An engine that changes nothing: isolates the pipe's own cost."""

    def push(self, frame):
        return [FrameResult(frame=frame, image=frame.image, faces=[])]

    def flush(self):
        return []


def _chain_seconds(source: Path, middle: list[str], out: Path, loops: int = 0) -> float:
    decode = ["ffmpeg", "-v", "error", "-nostdin", "-copyts", "-stream_loop", str(loops), "-i", str(source), "-map", "0:v", "-map", "0:a?",
              "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-enc_time_base:v", "-1", "-c:a", "copy",
              "-fps_mode", "passthrough", "-f", "nut", "-"]
    encode = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-copyts", "-f", "nut", "-i", "-", "-map", "0",
              "-c:v", "libx264", "-preset", "veryfast", "-enc_time_base:v", "-1", "-c:a", "copy",
              "-fps_mode", "passthrough", str(out)]
    start = time.perf_counter()
    first = subprocess.Popen(decode, stdout=subprocess.PIPE)
    second = subprocess.Popen(middle, stdin=first.stdout, stdout=subprocess.PIPE)
    first.stdout.close()
    third = subprocess.Popen(encode, stdin=second.stdout)
    second.stdout.close()
    codes = [third.wait(), second.wait(), first.wait()]
    if any(codes):
        raise RuntimeError(f"chain failed: {codes}")
    return time.perf_counter() - start


def report(shared: Path, out_dir: Path | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="facepaint-pipe-"))
    hd = shared / "video" / "heads" / "s32.mp4"  # 1280x720, 180 frames, audio
    small = work / "clip-640x360.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(hd), "-vf", "scale=640:360", "-c:v", "libx264",
                    "-c:a", "copy", str(small)], check=True)
    frames = 180
    passthrough = [sys.executable, "-m", "benchmarks.pipe", "--passthrough"]
    anonymize = [str(Path(sys.executable).parent / "facepaint"), "pipe", "--mode", "anonymize", "--stats", "none"]
    runs = {}
    for name, middle in (("cat", ["cat"]), ("facepaint pipe, pass-through", passthrough)):
        # 4 x 180 frames, so process start-up (about 0.3 s) does not dominate.
        runs[name] = min(_chain_seconds(hd, middle, work / "o.mkv", loops=3) for _ in range(3))
    result = {"overhead_1280x720": runs["facepaint pipe, pass-through"] / runs["cat"] - 1, "seconds": runs}
    for label, clip in (("640x360", small), ("1280x720", hd)):
        seconds = _chain_seconds(clip, anonymize, work / "a.mkv")
        result[f"anonymize_chain_fps_{label}"] = frames / seconds
    return result


def print_report(r: dict) -> None:
    print("\n## ffmpeg pipe")
    s = r["seconds"]
    print(f"1280x720, 720 frames: chain with cat {s['cat']:.2f} s, with facepaint's pipe (pass-through engine) "
          f"{s['facepaint pipe, pass-through']:.2f} s: overhead {r['overhead_1280x720']:.1%} (goal <= 10%)")
    print(f"anonymize chain, decode and encode included: 640x360 {r['anonymize_chain_fps_640x360']:.1f} fps, "
          f"1280x720 {r['anonymize_chain_fps_1280x720']:.1f} fps")


def _passthrough_main() -> int:
    from facepaint.pipe import run_pipe

    run_pipe(PassThrough(), stats="none")
    return 0


if __name__ == "__main__":
    if "--passthrough" in sys.argv:
        sys.exit(_passthrough_main())
