#!/usr/bin/env python3
"""Makes the fuzz seed corpus of the .feb reader (tests/fuzz/corpus/blob/) from valid_tiny.feb.

valid_tiny.feb itself is the library writer's output (test blob_writer_roundtrip_and_golden
checks it byte for byte; FE_WRITE_SEEDS=1 make run-tests T=blob_writer rewrites it). Each other
seed changes one thing, so the fuzzer starts next to every check of FORMAT.md section 6. CRCs
are recomputed where the seed should pass them. Standard library only; run from the repo root.
"""
import struct
import zlib

D = "tests/fuzz/corpus/blob/"
base = bytearray(open(D + "valid_tiny.feb", "rb").read())


def u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def fix(b, tensors=False):
    n = struct.unpack_from("<I", b, 32)[0]
    data = u64(b, 72)
    if tensors:
        for i in range(n):
            e = 128 + 128 * i
            off, nb = u64(b, e + 88), u64(b, e + 96)
            struct.pack_into("<I", b, e + 120, zlib.crc32(bytes(b[data + off:data + off + nb])))
    mo, ms = u64(b, 56), u64(b, 64)
    struct.pack_into("<I", b, 92, zlib.crc32(bytes(b[mo:mo + ms])))
    struct.pack_into("<I", b, 88, 0)
    struct.pack_into("<I", b, 88, zlib.crc32(bytes(b[:128 + 128 * n])))
    return b


def variant(name, edit, crc=True, tensors=False):
    b = bytearray(base)
    b = edit(b) or b
    if crc:
        fix(b, tensors)
    open(D + name, "wb").write(bytes(b))


def set_meta(b, text):
    mo = u64(b, 56)
    b[mo:u64(b, 72)] = b"\0" * (u64(b, 72) - mo)
    b[mo:mo + len(text)] = text
    struct.pack_into("<Q", b, 64, len(text))


variant("truncated.feb", lambda b: b[:300], crc=False)
variant("bad_magic.feb", lambda b: b.__setitem__(3, ord("X")))
variant("version2.feb", lambda b: struct.pack_into("<H", b, 8, 2))
variant("big_endian.feb", lambda b: struct.pack_into("<I", b, 12, 0x04030201))
variant("dup_name.feb", lambda b: b.__setitem__(slice(128 + 256, 128 + 256 + 48), b[128:176]))
variant("overlap.feb", lambda b: struct.pack_into("<Q", b, 128 + 128 + 88, 0))
variant("misaligned.feb", lambda b: struct.pack_into("<Q", b, 128 + 128 + 88, 65))
variant("dims_overflow.feb", lambda b: struct.pack_into("<QQ", b, 128 + 56, 1 << 63, 4))
variant("bad_dtype.feb", lambda b: struct.pack_into("<I", b, 128 + 48, 7))
variant("bad_meta.feb", lambda b: set_meta(b, b"arch=x\nno equals sign\n"))
variant("bad_crc.feb", lambda b: b.__setitem__(u64(b, 72) + 67, b[u64(b, 72) + 67] ^ 1), crc=False)
variant("f32_nan.feb", lambda b: struct.pack_into("<I", b, u64(b, 72), 0x7FC00000), tensors=True)
variant("faceres_arch.feb", lambda b: set_meta(b, b"arch=faceapi-resnet-v1\n"))
