#!/usr/bin/env python3
"""make-png-goldens.py — PNG decoding goldens for tests/test_png.c (Python stdlib + ImageMagick).

Two kinds of files land in tests/data/png/ (see README.md there):

* "py_*"  PNGs written by this script's own small encoder (zlib + struct) from known source
          samples: every colour type x bit depth, palettes with and without tRNS, colour-key
          tRNS, Adam7, odd sizes, all five filters (row r of a pass uses filter (r+k) % 5),
          IDAT split into many chunks (some empty), and ancillary chunks to skip. The expected
          pixels (<name>.pam) are computed from the *source samples* with faceemd's documented
          conversion rules (expected() below), not by decoding the PNG.
* "im_*"  PNGs written by ImageMagick's `convert` (libpng + zlib: other filter choices, other
          deflate streams); their expected pixels come from `convert`'s own decoder.

Every file is then decoded by ImageMagick (`convert x.png -depth 16 rgba:-`), an independent
decoder, and must agree exactly with <name>.pam after the same conversion rules; the script
stops if one does not. Run from the repository root: python3 tools/make-png-goldens.py
With --fuzz-seeds it (re)writes tests/fuzz/corpus/png instead, in tests/fuzz/fuzz_png.c's input
format (a mode byte, then a PNG file or a recipe).
"""
import os
import random
import struct
import subprocess
import sys
import zlib

OUT = "tests/data/png"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
SPP = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples per pixel by colour type


# ---- faceemd's documented conversion to 8 bits (src/image_png.c header) -------------------

def to8(v, depth):
    if depth == 16:
        return (v * 255 + 32767) // 65535      # round(v / 257)
    if depth == 8:
        return v
    return v * 255 // ((1 << depth) - 1)       # 1, 2, 4-bit gray: exact multiples


def expected(c):
    """Output pixels (list of tuples) and channel count for case c, from its source samples."""
    ct, d = c["ct"], c["depth"]
    out = []
    if ct == 3:
        alpha = c.get("trns")
        for (i,) in c["px"]:
            r, g, b = c["plte"][i]
            if alpha is not None:
                out.append((r, g, b, alpha[i] if i < len(alpha) else 255))
            else:
                out.append((r, g, b))
        return out, 4 if alpha is not None else 3
    key = c.get("key")
    for p in c["px"]:
        q = tuple(to8(v, d) for v in p)
        if key is not None:
            q = q + ((0 if tuple(p) == tuple(key) else 255),)
        out.append(q)
    return out, SPP[ct] + (1 if key is not None else 0)


# ---- a small PNG encoder --------------------------------------------------------------------

def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, nbits = bytearray(), 0, 0
    for v in samples:
        acc = (acc << depth) | v
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray([ftype])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev else 0
        c = prev[i - bpp] if prev and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out.append((x - pred) & 255)
    return bytes(out)


def passes(w, h, interlace):
    if not interlace:
        return [(0, 0, 1, 1)]
    return [(x0, y0, dx, dy) for (x0, y0, dx, dy) in ADAM7]


def raw_image(c):
    w, h, ct, d = c["w"], c["h"], c["ct"], c["depth"]
    bpp = max(1, SPP[ct] * d // 8)
    raw = bytearray()
    k = c.get("filter_seed", 0)
    for (x0, y0, dx, dy) in passes(w, h, c.get("interlace", 0)):
        pw = (w - x0 + dx - 1) // dx if w > x0 else 0
        ph = (h - y0 + dy - 1) // dy if h > y0 else 0
        if pw == 0 or ph == 0:
            continue
        prev = None
        for r in range(ph):
            y = y0 + r * dy
            samples = []
            for col in range(pw):
                samples += list(c["px"][y * w + x0 + col * dx])
            row = pack_row(samples, d)
            raw += filter_row((r + k) % 5, row, prev, bpp)
            prev = row
    return bytes(raw)


def encode(c):
    ihdr = struct.pack(">IIBBBBB", c["w"], c["h"], c["depth"], c["ct"], 0, 0, c.get("interlace", 0))
    z = zlib.compress(raw_image(c), c.get("level", 9))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if c.get("ancillary"):
        out += chunk(b"gAMA", struct.pack(">I", 45455))
    if "plte" in c:
        out += chunk(b"PLTE", b"".join(bytes(e) for e in c["plte"]))
    if "trns" in c:
        out += chunk(b"tRNS", bytes(c["trns"]))
    if "key" in c:
        out += chunk(b"tRNS", b"".join(struct.pack(">H", v) for v in c["key"]))
    split = c.get("split", 0)
    if split:  # many IDAT chunks, with an empty one in the middle
        pieces = [z[i:i + split] for i in range(0, len(z), split)]
        pieces.insert(len(pieces) // 2, b"")
        for p in pieces:
            out += chunk(b"IDAT", p)
    else:
        out += chunk(b"IDAT", z)
    if c.get("ancillary"):
        out += chunk(b"tEXt", b"Comment\x00made by tools/make-png-goldens.py")
    return out + chunk(b"IEND", b"")


# ---- the cases ------------------------------------------------------------------------------

def make_case(name, ct, depth, w, h, rnd, **kw):
    c = dict(name=name, ct=ct, depth=depth, w=w, h=h, **kw)
    top = (1 << depth) - 1
    if ct == 3:
        n = kw.get("plte_n", min(top + 1, 1 + rnd.randrange(top + 1)))
        c["plte"] = [tuple(rnd.randrange(256) for _ in range(3)) for _ in range(n)]
        c["px"] = [(rnd.randrange(n),) for _ in range(w * h)]
        if kw.get("with_trns"):
            c["trns"] = [rnd.randrange(256) for _ in range(max(1, n - 2))]
        c.pop("with_trns", None)
        c.pop("plte_n", None)
        return c
    spp = SPP[ct]
    px = []
    for y in range(h):
        for x in range(w):
            if rnd.random() < 0.5:  # smooth part: gradients
                px.append(tuple(((x * 37 + y * 11 + s * 50) * (top // 255 if top > 255 else 1)) % (top + 1)
                                for s in range(spp)))
            else:
                px.append(tuple(rnd.randrange(top + 1) for _ in range(spp)))
    # extremes always present
    px[0] = tuple(0 for _ in range(spp))
    px[-1] = tuple(top for _ in range(spp))
    if kw.get("with_key"):
        key = px[len(px) // 2]
        for i in range(0, len(px), 3):
            px[i] = key
        if depth == 16 and len(px) > 2:  # same high byte, other low byte: must stay opaque
            px[1] = tuple(v ^ 1 for v in key)
        c["key"] = key
    c.pop("with_key", None)
    c["px"] = px
    return c


def cases():
    rnd = random.Random(20261128)
    out = []
    combos = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4),
              (3, 8), (4, 8), (4, 16), (6, 8), (6, 16)]
    tname = {0: "g", 2: "rgb", 3: "p", 4: "ga", 6: "rgba"}
    for i, (ct, d) in enumerate(combos):
        base = "%s%d" % (tname[ct], d)
        out.append(make_case("py_%s_33x17" % base, ct, d, 33, 17, rnd, filter_seed=i,
                             split=7 if i % 4 == 0 else 0, ancillary=i % 3 == 0))
        out.append(make_case("py_%s_7x3" % base, ct, d, 7, 3, rnd, filter_seed=i + 1))
        out.append(make_case("py_%s_1x1" % base, ct, d, 1, 1, rnd))
        out.append(make_case("py_%s_adam7_33x17" % base, ct, d, 33, 17, rnd, interlace=1,
                             filter_seed=i + 2))
    # palette transparency, full and partial, and a 5-entry 4-bit palette
    out.append(make_case("py_p8_trns_33x17", 3, 8, 33, 17, rnd, with_trns=True, plte_n=200))
    out.append(make_case("py_p4_trns_7x3", 3, 4, 7, 3, rnd, with_trns=True, plte_n=5))
    out.append(make_case("py_p1_trns_adam7_7x3", 3, 1, 7, 3, rnd, with_trns=True, plte_n=2, interlace=1))
    out.append(make_case("py_p2_trns_1x1", 3, 2, 1, 1, rnd, with_trns=True, plte_n=3))
    # colour keys (tRNS on gray / RGB): at full bit depth
    for ct, d in [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16)]:
        out.append(make_case("py_%s%d_key_33x17" % (tname[ct], d), ct, d, 33, 17, rnd, with_key=True,
                             ancillary=True))
    out.append(make_case("py_g16_key_adam7_7x3", 0, 16, 7, 3, rnd, with_key=True, interlace=1))
    out.append(make_case("py_rgb8_key_adam7_33x17", 2, 8, 33, 17, rnd, with_key=True, interlace=1,
                         split=5))
    # Adam7 where whole passes are empty
    for (w, h) in [(2, 2), (3, 3), (5, 1), (1, 9)]:
        out.append(make_case("py_rgba8_adam7_%dx%d" % (w, h), 6, 8, w, h, rnd, interlace=1))
    out.append(make_case("py_g8_stored_33x17", 0, 8, 33, 17, rnd, level=0))
    return out


# ---- ImageMagick as the independent decoder -------------------------------------------------

def convert_rgba16(path, w, h):
    """Decodes with ImageMagick to 16-bit RGBA samples (gray replicated, opaque alpha 65535)."""
    raw = subprocess.run(["convert", path, "-depth", "16", "-endian", "MSB", "rgba:-"], check=True,
                         stdout=subprocess.PIPE).stdout
    if len(raw) != w * h * 8:
        raise SystemExit("%s: convert gave %d bytes, expected %d" % (path, len(raw), w * h * 8))
    return [struct.unpack(">4H", raw[i:i + 8]) for i in range(0, len(raw), 8)]


def as_rgba8(pixels, ch):
    out = []
    for p in pixels:
        if ch == 1: out.append((p[0], p[0], p[0], 255))
        elif ch == 2: out.append((p[0], p[0], p[0], p[1]))
        elif ch == 3: out.append(tuple(p) + (255,))
        else: out.append(tuple(p))
    return out


def write_pam(path, w, h, ch, pixels):
    tupl = {1: "GRAYSCALE", 2: "GRAYSCALE_ALPHA", 3: "RGB", 4: "RGB_ALPHA"}[ch]
    with open(path, "wb") as f:
        f.write(("P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL 255\nTUPLTYPE %s\nENDHDR\n"
                 % (w, h, ch, tupl)).encode())
        f.write(bytes(v for p in pixels for v in p))


IM_CASES = [
    # name, convert arguments (output file appended), output channels of faceemd
    ("im_rgb8_plasma_48x40", ["-size", "48x40", "-seed", "7", "plasma:red-blue",
                              "-define", "png:color-type=2", "-depth", "8"], 3),
    ("im_rgb8_adam7_48x40", ["-size", "48x40", "-seed", "8", "plasma:", "-interlace", "PNG",
                             "-define", "png:color-type=2", "-depth", "8"], 3),
    ("im_g16_gradient_31x9", ["-size", "31x9", "gradient:black-white", "-colorspace", "Gray",
                              "-define", "png:color-type=0", "-depth", "16"], 1),
    ("im_p8_palette_40x30", ["-size", "40x30", "-seed", "9", "plasma:", "-colors", "37",
                             "-define", "png:color-type=3"], 3),
    ("im_rgba16_33x17", ["-size", "33x17", "-seed", "10", "plasma:", "(", "-size", "33x17",
                         "gradient:white-black", ")", "-alpha", "off", "-compose", "CopyOpacity",
                         "-composite", "-define", "png:color-type=6", "-depth", "16"], 4),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".png", ".pam")):
            os.remove(os.path.join(OUT, f))
    rows = []
    for c in cases():
        png = encode(c)
        path = os.path.join(OUT, c["name"] + ".png")
        with open(path, "wb") as f:
            f.write(png)
        pix, ch = expected(c)
        write_pam(os.path.join(OUT, c["name"] + ".pam"), c["w"], c["h"], ch, pix)
        # independent decode: ImageMagick must agree exactly after the same 16 -> 8 rule
        im = [tuple(to8(v, 16) for v in p) for p in convert_rgba16(path, c["w"], c["h"])]
        if im != as_rgba8(pix, ch):
            bad = next(i for i in range(len(im)) if im[i] != as_rgba8(pix, ch)[i])
            raise SystemExit("%s: ImageMagick disagrees at pixel %d: %s vs %s"
                             % (c["name"], bad, im[bad], as_rgba8(pix, ch)[bad]))
        desc = "type %d depth %d %dx%d%s%s%s%s" % (
            c["ct"], c["depth"], c["w"], c["h"], " adam7" if c.get("interlace") else "",
            " tRNS-palette" if "trns" in c else "", " tRNS-key" if "key" in c else "",
            " split-IDAT" if c.get("split") else "")
        rows.append("%s\t%d\t%d\t%d\tpython-source\t%s" % (c["name"], c["w"], c["h"], ch, desc))
    for name, args, ch in IM_CASES:
        path = os.path.join(OUT, name + ".png")
        subprocess.run(["convert"] + args + ["-strip", "PNG:" + path], check=True)
        ident = subprocess.run(["identify", "-format", "%w %h", path], check=True,
                               stdout=subprocess.PIPE).stdout.split()
        w, h = int(ident[0]), int(ident[1])
        rgba = [tuple(to8(v, 16) for v in p) for p in convert_rgba16(path, w, h)]
        pix = [p[:ch] if ch >= 3 else (p[0],) + ((p[3],) if ch == 2 else ()) for p in rgba]
        if ch == 1 and any(p[0] != p[1] or p[1] != p[2] or p[3] != 255 for p in rgba):
            raise SystemExit("%s: not opaque gray" % name)
        if ch == 3 and any(p[3] != 255 for p in rgba):
            raise SystemExit("%s: not opaque" % name)
        with open(path, "rb") as f:
            data = f.read()
        ct, il = data[25], data[28]
        write_pam(os.path.join(OUT, name + ".pam"), w, h, ch, pix)
        rows.append("%s\t%d\t%d\t%d\timagemagick\ttype %d depth %d %dx%d%s (convert %s)" % (
            name, w, h, ch, ct, data[24], w, h, " adam7" if il else "", " ".join(args)))
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("%d goldens in %s" % (len(rows), OUT))


COMBOS = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4),
          (3, 8), (4, 8), (4, 16), (6, 8), (6, 16)]  # the order fuzz_png.c's recipes use


def fuzz_seeds():
    d = "tests/fuzz/corpus/png"
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    keep = ["py_g1_7x3", "py_g16_33x17", "py_rgb8_7x3", "py_rgb16_adam7_33x17", "py_p2_trns_1x1",
            "py_p8_trns_33x17", "py_ga8_7x3", "py_rgba16_7x3", "py_g16_key_adam7_7x3",
            "py_rgb8_key_adam7_33x17", "py_rgba8_adam7_3x3", "im_p8_palette_40x30"]
    for i, name in enumerate(keep):  # whole files: mode 0 as they are, mode 1 CRCs refreshed
        with open(os.path.join(OUT, name + ".png"), "rb") as f:
            png = f.read()
        with open(os.path.join(d, "file_%s" % name), "wb") as f:
            f.write(bytes([i % 2]) + png)
    rnd = random.Random(5)
    for i, (ct, depth) in enumerate(COMBOS):  # recipes: one per colour type and depth
        il = i % 2
        c = make_case("seed", ct, depth, 7, 5, rnd, interlace=il, filter_seed=i,
                      with_key=ct in (0, 2), with_trns=ct == 3)
        plte = b"".join(bytes(e) for e in c.get("plte", []))
        trns = bytes(c.get("trns", []))[:6]
        if "key" in c:
            trns = b"".join(struct.pack(">H", v) for v in c["key"])
        head = bytes([6, 4, i, il | (9 << 1) * (i % 3 == 0), len(plte) // 3, len(trns), 6])
        with open(os.path.join(d, "recipe_%s%d%s" % ({0: "g", 2: "rgb", 3: "p", 4: "ga", 6: "rgba"}[ct], depth, "_adam7" * il)), "wb") as f:
            f.write(bytes([2]) + head + plte + trns + raw_image(c))
    print("fuzz seeds in", d)


if __name__ == "__main__":
    if "--fuzz-seeds" in sys.argv:
        sys.exit(fuzz_seeds())
    sys.exit(main())
