#!/usr/bin/env python3
"""make-zlib-goldens.py — known zlib/DEFLATE streams for tests/test_inflate.c (stdlib only).

Each stream is made by Python's zlib (the reference implementation) from data that
tests/test_inflate.c regenerates bit for bit with the same generators (gen() below, mirrored
by gen_data() in the test), so the test compares the whole output, not only a checksum.
Writes tests/data/zlib/<name>.zz and tests/data/zlib/MANIFEST.tsv:
    name  generator  seed  size  wrap(zlib|raw)  crc32-of-data  how-it-was-made
Run from the repository root: python3 tools/make-zlib-goldens.py
"""
import os
import zlib

OUT = "tests/data/zlib"
WORDS = ("the quick brown fox jumps over lazy dog face match patch earth mover "
         "distance chip gallery query").split()


def lcg(x):
    return (x * 1103515245 + 12345) & 0xFFFFFFFF


def gen(kind, seed, n):
    """Deterministic test data; tests/test_inflate.c gen_data() must stay identical."""
    out = bytearray()
    x = seed & 0xFFFFFFFF
    if kind == "rand":          # incompressible bytes
        for _ in range(n):
            x = lcg(x)
            out.append(x >> 24)
    elif kind == "text":        # words from a 17-word list: many short and medium matches
        while len(out) < n:
            x = lcg(x)
            out += WORDS[(x >> 16) % len(WORDS)].encode() + b" "
        del out[n:]
    elif kind == "runs":        # runs of 1..300 equal bytes: distance-1 matches, max lengths
        while len(out) < n:
            x = lcg(x)
            v = x >> 24
            x = lcg(x)
            out += bytes([v]) * (1 + (x >> 16) % 300)
        del out[n:]
    elif kind == "far":         # a 32000-byte random block repeated with sparse edits:
        block = bytearray()     # matches at distances near the 32 KiB window limit
        for _ in range(32000):
            x = lcg(x)
            block.append(x >> 24)
        while len(out) < n:
            out += block
            x = lcg(x)
            block[(x >> 8) % len(block)] ^= 0x5A
        del out[n:]
    else:
        raise ValueError(kind)
    return bytes(out)


# name, generator, seed, size, level, wbits, strategy, memLevel
CASES = [
    ("empty_l6", "text", 1, 0, 6, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("empty_l0", "text", 1, 0, 0, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("one_byte", "rand", 2, 1, 6, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("text_l0_stored", "text", 3, 66000, 0, 15, zlib.Z_DEFAULT_STRATEGY, 8),  # 2 stored blocks
    ("text_l1", "text", 4, 100000, 1, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("text_l6", "text", 5, 100000, 6, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("text_l9", "text", 6, 100000, 9, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("text_fixed", "text", 7, 20000, 6, 15, zlib.Z_FIXED, 8),                 # fixed Huffman
    ("text_huffonly", "text", 8, 20000, 6, 15, zlib.Z_HUFFMAN_ONLY, 8),       # literals only
    ("runs_rle", "runs", 9, 200000, 6, 15, zlib.Z_RLE, 8),
    ("runs_l9", "runs", 10, 200000, 9, 15, zlib.Z_DEFAULT_STRATEGY, 8),
    ("rand_l6", "rand", 11, 3000, 6, 15, zlib.Z_DEFAULT_STRATEGY, 8),         # stored fallback
    ("runs_fixed", "runs", 12, 5000, 1, 15, zlib.Z_FIXED, 8),                 # fixed, long matches
    ("far_l9", "far", 13, 96000, 9, 15, zlib.Z_DEFAULT_STRATEGY, 9),          # distances ~32 KiB
    ("text_w9", "text", 14, 60000, 6, 9, zlib.Z_DEFAULT_STRATEGY, 8),         # 512-byte window
    ("text_mem1", "text", 15, 150000, 6, 15, zlib.Z_DEFAULT_STRATEGY, 1),     # many small blocks
    ("raw_text_l6", "text", 16, 30000, 6, -15, zlib.Z_DEFAULT_STRATEGY, 8),   # raw DEFLATE
    ("raw_empty_fixed", "text", 17, 0, 6, -15, zlib.Z_FIXED, 8),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name, kind, seed, size, level, wbits, strategy, mem in CASES:
        data = gen(kind, seed, size)
        c = zlib.compressobj(level, zlib.DEFLATED, wbits, mem, strategy)
        z = c.compress(data) + c.flush()
        # check with the reference before committing anything
        assert zlib.decompress(z, wbits) == data
        with open(os.path.join(OUT, name + ".zz"), "wb") as f:
            f.write(z)
        how = "zlib %s level=%d wbits=%d memLevel=%d strategy=%d" % (
            zlib.ZLIB_VERSION, level, wbits, mem, strategy)
        rows.append("%s\t%s\t%d\t%d\t%s\t%08x\t%s" % (
            name, kind, seed, size, "raw" if wbits < 0 else "zlib", zlib.crc32(data), how))
        print("%-16s %7d -> %7d bytes" % (name, size, len(z)))
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
