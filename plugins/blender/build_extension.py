"""Build the extension zip that Blender's Preferences > Get Extensions > Install from Disk accepts.

    python plugins/blender/build_extension.py [OUT_DIR]     (make blender-extension)

Standard library only, so it runs without Blender; the zip holds the package's files at its root,
next to blender_manifest.toml, as Blender's own `extension build` lays them out.
"""

from __future__ import annotations

import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "facepaint_vse"


def build(out_dir: Path) -> Path:
    manifest = tomllib.loads((PACKAGE / "blender_manifest.toml").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    files = sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(PACKAGE).as_posix())
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "dist"))
