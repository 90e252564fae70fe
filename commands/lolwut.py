"""LOLWUT, as Redis 7.0's lolwut.c: a version line, VERSION 5's "Schotter" or VERSION 6's skyline.

Redis picks the art by the version asked for: 5 draws Georg Nees's
Schotter in braille (rows of squares that tumble more the lower they are,
at random), 6 a city skyline in terminal colours, and 7 or anything else
only prints the version line.
"""
import math
import random

from commands import Command, table
from errors import NOT_INTEGER, ReplyError
from protocol import Verbatim, string_to_int
from serving.version import REDIS_VERSION

LONG_RANGE = (-2**63, 2**63 - 1)


def _long(raw):
    number = string_to_int(raw)
    if number is None or not LONG_RANGE[0] <= number <= LONG_RANGE[1]:
        raise ReplyError(NOT_INTEGER)
    return number


def lolwut(session, *arguments):
    """LOLWUT [VERSION version]"""
    version = REDIS_VERSION
    if len(arguments) >= 2 and arguments[0].lower() == b"version":
        version = "%d.0.0" % (_long(arguments[1]) % 2**32)  # C's (unsigned int) cast
        arguments = arguments[2:]
    if (version.startswith("5.") and version[2:3] != "9") or version.startswith("4.9"):
        return Verbatim("txt", schotter(*_schotter_options(arguments)).encode())
    if (version.startswith("6.") and version[2:3] != "9") or version.startswith("5.9"):
        return Verbatim("txt", skyline(*_skyline_options(arguments)).encode())
    return Verbatim("txt", ("Redis ver. %s\n" % REDIS_VERSION).encode())


def _schotter_options(arguments):
    """[columns [squares per row [squares per column]]], each clamped as Redis clamps it."""
    columns, per_row, per_column = 66, 8, 12
    if arguments:
        columns = _long(arguments[0])
    if len(arguments) > 1:
        per_row = _long(arguments[1])
    if len(arguments) > 2:
        per_column = _long(arguments[2])
    return min(max(columns, 1), 1000), min(max(per_row, 1), 200), min(max(per_column, 1), 200)


def schotter(columns, per_row, per_column):
    """lwDrawSchotter rendered as renderCanvas does, with the signature line."""
    canvas = _draw_schotter(columns, per_row, per_column)
    return _render(canvas) + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. %s\n" % REDIS_VERSION


class Canvas:
    """lwCanvas: a grid of pixels, each a colour number (Schotter's are 0 or 1)."""

    def __init__(self, width, height, background=0):
        self.width, self.height = width, height
        self.pixels = bytearray([background]) * (width * height)  # row after row


def _draw_schotter(columns, per_row, per_column):
    width = columns * 2
    padding = 2 if width > 4 else 0
    side = (width - padding * 2) / per_row
    canvas = Canvas(width, int(side * per_column + padding * 2))
    for y in range(per_column):
        for x in range(per_row):
            square_x = int(x * side + side / 2 + padding)
            square_y = int(y * side + side / 2 + padding)
            angle = 0.0
            if y > 1:  # the lower the row, the more its squares turn and shift
                r1, r2, r3 = (random.random() / per_column * y * random.choice((1, -1)) for _ in range(3))
                angle = r1
                square_x = int(square_x + r2 * side / 3)
                square_y = int(square_y + r3 * side / 3)
            _draw_square(canvas, square_x, square_y, side, angle)
    return canvas


def _draw_square(canvas, x, y, size, angle):
    """lwDrawSquare: a square inscribed in the circle of radius size, turned by angle."""
    size = round(size / 1.4142135623)
    corners = []
    k = math.pi / 4 + angle
    for _ in range(4):
        corners.append((round(math.sin(k) * size + x), round(math.cos(k) * size + y)))
        k += math.pi / 2
    for index in range(4):
        _draw_line(canvas, *corners[index], *corners[(index + 1) % 4])


def _draw_line(canvas, x1, y1, x2, y2):
    """Bresenham's line, as lwDrawLine (pixels off the canvas are skipped)."""
    pixels, width, height = canvas.pixels, canvas.width, canvas.height
    dx, dy = abs(x2 - x1), abs(y2 - y1)
    step_x, step_y = (1 if x1 < x2 else -1), (1 if y1 < y2 else -1)
    error = dx - dy
    while True:
        if 0 <= x1 < width and 0 <= y1 < height:
            pixels[y1 * width + x1] = 1
        if x1 == x2 and y1 == y2:
            return
        doubled = error * 2
        if doubled > -dy:
            error -= dy
            x1 += step_x
        if doubled < dx:
            error += dx
            y1 += step_y


BRAILLE = [chr(0x2800 + bits) for bits in range(256)]


def _render(canvas):
    """renderCanvas: each 2x4 block of pixels one braille character, a newline after each row of them.

    A block's bits come from eight pixel columns at once: the pixels (0 or 1) of
    a row's even or odd columns, read as one big integer, shift into their bit of
    every byte together (no carry can cross a byte)."""
    width, height = canvas.width + canvas.width % 2, canvas.height
    padded = bytearray(width * (height + 3))
    for y in range(height):
        padded[y * width:y * width + canvas.width] = canvas.pixels[y * canvas.width:(y + 1) * canvas.width]
    rows = []
    for y in range(0, height, 4):
        lines = [padded[(y + dy) * width:(y + dy + 1) * width] for dy in range(4)]
        bits = 0
        for column, row, bit in ((0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 3), (1, 1, 4), (1, 2, 5), (0, 3, 6),
                                 (1, 3, 7)):
            bits |= int.from_bytes(lines[row][column::2], "big") << bit
        row_text = "".join(map(BRAILLE.__getitem__, bits.to_bytes(width // 2, "big")))
        rows.append(row_text + ("\n" if y != height - 1 else ""))
    return "".join(rows)


# ------------------------------------------------------------------ VERSION 6


def _skyline_options(arguments):
    """[columns [rows]], clamped to 1..1000 as Redis clamps them."""
    columns = _long(arguments[0]) if arguments else 80
    rows = _long(arguments[1]) if len(arguments) > 1 else 20
    return min(max(columns, 1), 1000), min(max(rows, 1), 1000)


def skyline(columns, rows):
    """lolwut6Command: generateSkyline on a white canvas, each pixel one coloured space."""
    canvas = Canvas(columns, rows, background=3)
    _generate_skyline(canvas)
    lines = []
    for y in range(rows):
        lines.append("".join(map(CELLS.__getitem__, canvas.pixels[y * columns:(y + 1) * columns])))
    return ("\n".join(lines) + "\nDedicated to the 8 bit game developers of past and present.\n"
            "Original 8 bit image from Plaguemon by hikikomori. Redis ver. %s\n" % REDIS_VERSION)


CELLS = ["\033[%s \033[0m" % color for color in ("0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m")]  # black,
# two grays, white: one space each, in both the foreground and background colour


def _rand():
    return random.randrange(2**31)


def _generate_skyline(canvas):
    """Two rows of gray skyscrapers behind, then black ones with lit windows in front."""
    height = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += _rand() % 8
            width = 10 + _rand() % 9
            tall = height // 2 + (_rand() % height) // (2 if color == 2 else 3)
            _draw_skyscraper(canvas, offset, width, tall, color, windows=False)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand() % 8
        width = 5 + _rand() % 14
        if width % 4:
            width += width % 3
        tall = height // 3 + (_rand() % height) // 2
        _draw_skyscraper(canvas, offset, width, tall, 0, windows=True)
        offset += width + 5


def _draw_skyscraper(canvas, left, width, height, color, windows):
    """generateSkyscraper: a block with a roof two pixels narrower each side, windows two pixels wide."""
    pixels, canvas_width = canvas.pixels, canvas.width
    bottom = canvas.height - 1
    top = bottom - height + 1
    for y in range(max(top, 0), bottom + 1):
        start, end = (left + 2, left + width - 2) if y == top else (left, left + width)
        start, end = max(start, 0), min(end, canvas_width)
        if start < end:
            pixels[y * canvas_width + start:y * canvas_width + end] = bytes([color]) * (end - start)
        if windows and top + 1 < y < bottom - 1 and (y - top - 1) % 2:
            for x in range(max(left + 2, 0), min(left + width - 2, canvas_width)):
                across = x - (left + 1)
                if across // 2 % 2:  # a window: two pixels, lit alike
                    if across % 2:
                        pixels[y * canvas_width + x] = pixels[y * canvas_width + x - 1] if x else 0
                    else:
                        pixels[y * canvas_width + x] = 1 + _rand() % 2


COMMANDS = table(
    Command("lolwut", lolwut, -1, ("readonly", "fast"), 0, 0, 0),
    group="server",
)
