#!/usr/bin/env python3
"""Draws the Doorstep app icons (web/shared/icons/*.png) with the standard library only.

One icon per app in its brand colour: a white door standing on a step, with a knob. For each app a
"any" icon at 192 and 512 px (a rounded square with transparent corners) and a "maskable" one at 512 px
(full bleed, the door inside the central safe circle of 40 % radius). Shapes are signed distance
functions, anti-aliased by their distance to the edge; PNGs are written with zlib and struct.

Run from the repository root: python3 tools/make_icons.py  (--check exits 1 if a committed icon differs)
"""
import struct
import sys
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "web" / "shared" / "icons"

# name -> background colour (the apps' brand colours, AA contrast against white)
APPS = {
    "doorstep": (0x0B, 0x1F, 0x4D),  # the landing page's navy
    "rider": (0x0B, 0x5F, 0xFF),
    "driver": (0x0A, 0x7A, 0x3D),
    "ops": (0x10, 0x18, 0x28),
    "merchant": (0x9A, 0x34, 0x12),
    "provider": (0x0F, 0x76, 0x6E),
}
WHITE = (0xFF, 0xFF, 0xFF)


def rounded_box(px, py, cx, cy, hw, hh, r):
    """Signed distance from (px, py) to a box centred at (cx, cy), half sizes hw, hh, corner radius r."""
    qx = abs(px - cx) - hw + r
    qy = abs(py - cy) - hh + r
    ox, oy = max(qx, 0.0), max(qy, 0.0)
    return (ox * ox + oy * oy) ** 0.5 + min(max(qx, qy), 0.0) - r


def circle(px, py, cx, cy, r):
    return ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 - r


def cover(d):
    """Coverage of a pixel whose centre is at signed distance d (in pixels) from an edge."""
    return min(1.0, max(0.0, 0.5 - d))


def draw(size, bg, maskable):
    s = float(size)
    # The glyph lives in the unit square [0, 1]; a maskable icon shrinks it into the safe zone.
    scale = 0.62 if maskable else 0.78
    off = (1 - scale) / 2

    def glyph(u, v):
        """(coverage of white, coverage of the knob) at unit coordinates u, v."""
        x, y = (u - off) / scale, (v - off) / scale
        px = s * scale  # pixels per glyph unit
        door = rounded_box(x, y, 0.5, 0.44, 0.22, 0.33, 0.05) * px
        step = rounded_box(x, y, 0.5, 0.85, 0.34, 0.045, 0.03) * px
        knob = circle(x, y, 0.62, 0.47, 0.04) * px
        white = max(cover(door), cover(step))
        return white, cover(knob)

    rows = []
    for j in range(size):
        row = bytearray([0])  # filter type 0 (None) for each scanline
        v = (j + 0.5) / s
        for i in range(size):
            u = (i + 0.5) / s
            if maskable:
                alpha = 1.0
            else:
                alpha = cover(rounded_box(u, v, 0.5, 0.5, 0.5, 0.5, 0.2) * s)
            if alpha <= 0.0:
                row += b"\0\0\0\0"
                continue
            white, knob = glyph(u, v)
            white *= 1 - knob  # the knob is a hole in the door, in the background colour
            px = [round(bg[k] * (1 - white) + WHITE[k] * white) for k in range(3)]
            row += bytes(px) + bytes([round(255 * alpha)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(w, h, raw):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def icons():
    for name, bg in APPS.items():
        yield f"{name}-192.png", draw(192, bg, False)
        yield f"{name}-512.png", draw(512, bg, False)
        yield f"{name}-maskable-512.png", draw(512, bg, True)


def main():
    check = "--check" in sys.argv[1:]
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for filename, data in icons():
        path = OUT / filename
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(filename)
        else:
            path.write_bytes(data)
            print(f"{path.relative_to(OUT.parent.parent.parent)}: {len(data)} bytes")
    if stale:
        print("icons differ from tools/make_icons.py: " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
