"""Draw the mini-redis logo and write it to ``logo.png`` at the repo root.

The logo is generated from code rather than checked in as a hand-edited
image so that it can be reproduced (or tweaked) by anyone with Pillow,
without any design tools.  It shows a red stack of isometric slabs (a
"database" mark) next to the wordmark "mini-redis" and a tagline.

Run it from the repository root, whenever the logo needs regenerating:

    python tools/make_logo.py

It uses DejaVu Sans if installed (Debian: ``fonts-dejavu-core``) and falls
back to Pillow's built-in font otherwise (which only scales to the right size
on Pillow >= 10.1; older Pillow still writes a logo, with tiny text).
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


def font(name, size):
    """Load a TrueType font by file name, else Pillow's default font.

    ``truetype`` looks the bare file name up in the system font folders
    (``/usr/share/fonts`` on Linux), so no paths are hard-coded here.
    """
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: scalable
    except TypeError:
        return ImageFont.load_default()  # old Pillow: tiny bitmap font


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

    big = font("DejaVuSans-Bold.ttf", 60 * S)
    small = font("DejaVuSans.ttf", 19 * S)
    tagline = "a Redis-compatible server in Python"

    # Measure everything first so the mark + text group is centred.
    half_w, half_h, depth, gap = 62 * S, 31 * S, 14 * S, 28 * S
    mark_w, mark_h = 2 * half_w, 2 * half_h + 2 * gap + depth
    space = 30 * S  # between mark and text
    line_gap = 36 * S  # wordmark baseline -> tagline baseline
    word_w = d.textlength("mini-redis", font=big)
    text_w = max(word_w, d.textlength(tagline, font=small))
    cap_top = d.textbbox((0, 0), "mini-redis", font=big, anchor="ls")[1]
    text_h = -cap_top + line_gap  # cap top to tagline baseline
    left = (W * S - (mark_w + space + text_w)) // 2

    # Mark: three stacked slabs, drawn bottom-up so upper ones overlap.
    cx, top = left + half_w, (H * S - mark_h) // 2
    for i in reversed(range(3)):
        slab(d, cx, top + i * gap, half_w, half_h, depth)

    # Wordmark: "mini-" in ink, "redis" in red, with a tagline underneath.
    x = left + mark_w + space
    word_y = (H * S - text_h) // 2 - cap_top  # baseline
    d.text((x, word_y), "mini-", font=big, fill=INK, anchor="ls")
    x2 = x + d.textlength("mini-", font=big)
    d.text((x2, word_y), "redis", font=big, fill=RED, anchor="ls")
    d.text((x + 3 * S, word_y + line_gap), tagline, font=small, fill=GREY,
           anchor="ls")

    img = img.resize((W, H), Image.LANCZOS)
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    img.save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
