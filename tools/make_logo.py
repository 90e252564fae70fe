"""Draw the mini-redis logo and write it to ``logo.png`` at the repo root.

The logo is generated from code rather than checked in as a hand-edited
image so that it can be reproduced (or tweaked) by anyone with Pillow,
without any design tools.  It shows a red stack of isometric slabs (a
"database" mark) next to the wordmark "mini-redis" and a tagline.

Run it from the repository root, whenever the logo needs regenerating:

    python tools/make_logo.py

It uses DejaVu Sans if installed (Debian: ``fonts-dejavu-core``) and falls
back to Pillow's built-in font otherwise.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "logo.png"
W, H = 640, 200
S = 4  # supersampling factor: draw big, downscale for smooth edges

RED = (220, 56, 44)
RED_DARK = (165, 35, 28)
RED_DEEP = (120, 24, 20)
INK = (40, 44, 52)
GREY = (110, 116, 126)
BG = (255, 255, 255)

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/Library/Fonts", "C:/Windows/Fonts"]


def font(name, size):
    """Load a DejaVu font by file name, or Pillow's default font."""
    for d in FONT_DIRS:
        try:
            return ImageFont.truetype(f"{d}/{name}", size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1
    except TypeError:
        return ImageFont.load_default()


def slab(draw, cx, top, half_w, half_h, depth):
    """One isometric slab: a rhombus top face with two shaded sides."""
    n, e = (cx, top), (cx + half_w, top + half_h)
    s, w = (cx, top + 2 * half_h), (cx - half_w, top + half_h)
    down = lambda p: (p[0], p[1] + depth)
    draw.polygon([w, s, down(s), down(w)], fill=RED_DARK)
    draw.polygon([s, e, down(e), down(s)], fill=RED_DEEP)
    draw.polygon([n, e, s, w], fill=RED)


def main():
    img = Image.new("RGB", (W * S, H * S), BG)
    d = ImageDraw.Draw(img)

    # Mark: three stacked slabs, drawn bottom-up so upper ones overlap.
    cx, half_w, half_h, depth, gap = 100 * S, 62 * S, 31 * S, 14 * S, 28 * S
    first_top = 46 * S
    for i in reversed(range(3)):
        slab(d, cx, first_top + i * gap, half_w, half_h, depth)

    # Wordmark: "mini-" in ink, "redis" in red, with a tagline underneath.
    x = 190 * S
    big = font("DejaVuSans-Bold.ttf", 60 * S)
    small = font("DejaVuSans.ttf", 19 * S)
    word_y = 104 * S  # baseline
    d.text((x, word_y), "mini-", font=big, fill=INK, anchor="ls")
    x2 = x + d.textlength("mini-", font=big)
    d.text((x2, word_y), "redis", font=big, fill=RED, anchor="ls")
    d.text((x + 3 * S, 140 * S), "a Redis-compatible server in Python",
           font=small, fill=GREY, anchor="ls")

    img = img.resize((W, H), Image.LANCZOS)
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    img.save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
