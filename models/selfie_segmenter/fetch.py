"""Re-extract the selfie segmenter files from MediaPipe's 0.10.21 wheel on PyPI (see CARD.md).

    .venv/bin/python models/selfie_segmenter/fetch.py

Downloads the wheel (~35 MB) into a temporary folder, checks the two files against the hashes
below and writes them beside this script. Run once by a maintainer; the files are committed, so
neither set-up nor run time downloads anything.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEEL = "mediapipe==0.10.21"
FILES = {
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "selfie_segmentation_landscape.tflite": "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", WHEEL, "--no-deps", "--only-binary", ":all:",
                        "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name, digest in FILES.items():
                data = archive.read(f"mediapipe/modules/selfie_segmentation/{name}")
                if hashlib.sha256(data).hexdigest() != digest:
                    print(f"fetch: {name} in {wheel.name} does not match the recorded hash", file=sys.stderr)
                    return 1
                (HERE / name).write_bytes(data)
                print(f"fetch: {name} ({len(data) / 1e3:.0f} kB) from {wheel.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
