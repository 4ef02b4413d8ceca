#!/usr/bin/env python3
"""Regenerates src/crc32_table.h: CRC-32 (0xEDB88320, reflected) slicing-by-8 tables.
Python standard library only. Usage: python3 tools/gen_crc32_table.py > src/crc32_table.h"""
t = [[0] * 256 for _ in range(8)]
for i in range(256):
    c = i
    for _ in range(8):
        c = (0xEDB88320 ^ (c >> 1)) if c & 1 else c >> 1
    t[0][i] = c
for i in range(256):
    c = t[0][i]
    for s in range(1, 8):
        c = t[0][c & 0xff] ^ (c >> 8)
        t[s][i] = c
print("/* crc32_table.h — CRC-32 slicing-by-8 tables for polynomial 0xEDB88320 (reflected).")
print(" * Generated once by tools/gen_crc32_table.py; checked by test_crc32 against known values. */")
print("static const uint32_t crc32_table[8][256] = {")
for s in range(8):
    print("    {")
    for r in range(0, 256, 6):
        print("        " + " ".join("0x%08xu," % v for v in t[s][r:r + 6]))
    print("    },")
print("};")
