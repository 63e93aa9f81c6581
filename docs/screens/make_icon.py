"""Draw kam_management/static/description/icon.png: an 80/20 pie on a rounded square.

Run from the repository root: ``python3 docs/screens/make_icon.py``.  Drawn four times larger
and scaled down, so that the edges are smooth.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128  # px, the size of the icon
SCALE = 4  # supersampling factor
BACKGROUND = (27, 94, 158)  # strong blue
MAJOR = (255, 255, 255)  # the 80 % slice
MINOR = (245, 179, 1)  # the 20 % slice: the key accounts
OUT = Path(__file__).resolve().parents[2] / "kam_management" / "static" / "description" / "icon.png"


def draw():
    s = SIZE * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=int(s * 0.19), fill=BACKGROUND)

    cx, cy, r = s * 0.47, s * 0.53, s * 0.33
    # 20 % slice (72 degrees), from 12 o'clock clockwise, pulled out along its bisector.
    start, end = -90, -90 + 72
    mid = math.radians((start + end) / 2)
    off = s * 0.06
    ox, oy = cx + off * math.cos(mid), cy + off * math.sin(mid)
    # Each slice gets a hole of its own centre, so the pie reads as a ring, lighter at this size.
    h = r * 0.38
    d.pieslice((ox - r, oy - r, ox + r, oy + r), start, end, fill=MINOR)
    d.ellipse((ox - h, oy - h, ox + h, oy + h), fill=BACKGROUND)
    # 80 % slice.
    d.pieslice((cx - r, cy - r, cx + r, cy + r), end, start + 360, fill=MAJOR)
    d.ellipse((cx - h, cy - h, cx + h, cy + h), fill=BACKGROUND)

    img = img.resize((SIZE, SIZE), Image.LANCZOS)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    img.save(OUT, optimize=True)
    print(f"{OUT.name}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    draw()
