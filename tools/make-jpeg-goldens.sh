#!/bin/sh
# make-jpeg-goldens.sh — regenerates tests/data/jpeg/: small test JPEGs made with libjpeg-turbo's
# cjpeg from synthetic images, and the expected pixels from djpeg (default settings: islow IDCT,
# fancy upsampling). Needs cjpeg, djpeg (libjpeg-turbo; made with 2.1.5), ImageMagick convert
# (only for the CMYK sample and for rotating the orientation references) and python3 (stdlib).
# Usage: tools/make-jpeg-goldens.sh [OUTDIR]   (default tests/data/jpeg). See its README.md.
set -eu
out=${1:-tests/data/jpeg}
for t in cjpeg djpeg convert python3; do
    command -v $t >/dev/null || { echo "make-jpeg-goldens: $t is required" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Synthetic sources: gradients, a 5-pixel checker (sharp edges for ringing), a sine and
# LCG noise, so every block has real AC content. src_WxH.ppm, deterministic.
src() {
    python3 - "$1" "$2" "$tmp/src_$1x$2.ppm" <<'EOF'
import math, sys
w, h, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = w * 7919 + h
px = bytearray()
c = lambda v: max(0, min(255, int(v)))
for y in range(h):
    for x in range(w):
        s = (s * 1103515245 + 12345) & 0x7fffffff
        n = (s >> 16) % 33 - 16
        r = 255 * x / max(1, w - 1)
        g = 255 * y / max(1, h - 1)
        b = 128 + 100 * math.sin((x + 2 * y) / 3.0)
        if (x // 5 + y // 5) % 2:
            r = 255 - r
        px += bytes((c(r + n), c(g + n), c(b - n)))
open(path, 'wb').write(b'P6\n%d %d\n255\n' % (w, h) + bytes(px))
EOF
}

# jpg NAME W H CJPEG-OPTIONS... : NAME.jpg and its djpeg output NAME.ppm / NAME.pgm
jpg() {
    name=$1 w=$2 h=$3
    shift 3
    [ -f "$tmp/src_${w}x$h.ppm" ] || src "$w" "$h"
    cjpeg "$@" -outfile "$out/$name.jpg" "$tmp/src_${w}x$h.ppm"
    rm -f "$out/$name.ppm" "$out/$name.pgm"
    djpeg -pnm -outfile "$tmp/$name.pnm" "$out/$name.jpg"
    case $(head -c 2 "$tmp/$name.pnm") in
    P5) mv "$tmp/$name.pnm" "$out/$name.pgm" ;;
    *) mv "$tmp/$name.pnm" "$out/$name.ppm" ;;
    esac
}

# scan scripts (cjpeg -scans): successive approximation with per-component bands, and a
# sequential file with one scan per component
cat > "$tmp/sa.txt" <<'EOF'
0,1,2: 0-0, 0, 2;
0: 1-9, 0, 2;
2: 1-63, 0, 1;
1: 1-63, 0, 1;
0: 10-63, 0, 2;
0,1,2: 0-0, 2, 1;
0,1,2: 0-0, 1, 0;
0: 1-63, 2, 1;
1: 1-63, 1, 0;
2: 1-63, 1, 0;
0: 1-63, 1, 0;
EOF
cat > "$tmp/seq.txt" <<'EOF'
0: 0-63, 0, 0;
2: 0-63, 0, 0;
1: 0-63, 0, 0;
EOF
# 16-bit quantization tables (some entries > 255) force SOF1 with Pq=1
python3 - "$tmp/q16.txt" <<'EOF'
import sys
t = [[(8 + 9 * (i // 8 + i % 8)) * (3 if i > 40 else 1) for i in range(64)] for _ in range(2)]
open(sys.argv[1], 'w').write('\n'.join(' '.join(map(str, q)) for q in t) + '\n')
EOF

jpg gray_33x17       33 17 -grayscale -quality 85
jpg s444_33x17       33 17 -sample 1x1 -quality 90
jpg s422_33x17       33 17 -sample 2x1
jpg s420_33x17       33 17 -sample 2x2
jpg s440_33x17       33 17 -sample 1x2
jpg s411_35x17       35 17 -sample 4x1
jpg s311_35x17       35 17 -sample 3x1,1x1,1x1
jpg mixed_33x17      33 17 -sample 2x2,2x1,1x2
jpg s420_1x1          1  1 -sample 2x2
jpg s420_3x5          3  5 -sample 2x2
jpg s422_3x2          3  2 -sample 2x1
jpg s440_2x5          2  5 -sample 1x2
jpg s420_15x9        15  9 -sample 2x2 -quality 95
jpg s420_48x32       48 32 -sample 2x2 -quality 75
jpg q5_33x17         33 17 -quality 5
jpg q100_444_15x9    15  9 -quality 100 -sample 1x1
jpg opt_420_33x17    33 17 -optimize
jpg rgb_33x17        33 17 -rgb
jpg q16_444_33x17    33 17 -qtables "$tmp/q16.txt" -sample 1x1
jpg seqscans_33x17   33 17 -scans "$tmp/seq.txt"
jpg prog_420_48x32   48 32 -progressive
jpg prog_gray_33x17  33 17 -grayscale -progressive
jpg prog_sa_444_33x17 33 17 -sample 1x1 -scans "$tmp/sa.txt"
jpg prog_422_35x17   35 17 -sample 2x1 -progressive -optimize
jpg rst_420_48x32    48 32 -restart 1
jpg rst_422_33x17    33 17 -sample 2x1 -restart 3B
jpg rst_gray_15x9    15  9 -grayscale -restart 1B
jpg prog_rst_420_48x32 48 32 -progressive -restart 2B

# Exif orientation 1..8: the same 15x9 JPEG with an APP1 Exif block inserted after SOI
# (IFD0 with tag 0x0112), alternating Intel (II) and Motorola (MM) byte order. The expected
# pixels are djpeg's output turned upright by ImageMagick (-flop, -rotate, -transpose, ...).
jpg orient_base_15x9 15 9 -sample 2x2
for o in 1 2 3 4 5 6 7 8; do
    python3 - "$out/orient_base_15x9.jpg" "$out/orient_$o.jpg" "$o" <<'EOF'
import struct, sys
src, dst, o = sys.argv[1], sys.argv[2], int(sys.argv[3])
j = open(src, 'rb').read()
e = '<' if o % 2 else '>'
tiff = (b'II' if o % 2 else b'MM') + struct.pack(e + 'HI', 42, 8)
tiff += struct.pack(e + 'H', 2)
tiff += struct.pack(e + 'HHI', 0x010F, 2, 4) + b'fe\0\0'          # Make = "fe"
tiff += struct.pack(e + 'HHIHH', 0x0112, 3, 1, o, 0)              # Orientation
tiff += struct.pack(e + 'I', 0)
app1 = b'Exif\0\0' + tiff
open(dst, 'wb').write(j[:2] + b'\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 + j[2:])
EOF
    case $o in
    1) op="" ;; 2) op="-flop" ;; 3) op="-rotate 180" ;; 4) op="-flip" ;;
    5) op="-transpose" ;; 6) op="-rotate 90" ;; 7) op="-transverse" ;; 8) op="-rotate 270" ;;
    esac
    # shellcheck disable=SC2086
    convert "$out/orient_base_15x9.ppm" $op "ppm:$out/orient_$o.ppm"
done

# Unsupported kinds (no expected pixels: the decoder must say FE_E_UNSUPPORTED)
cjpeg -arithmetic -outfile "$out/unsup_arith.jpg" "$tmp/src_15x9.ppm"
cjpeg -arithmetic -progressive -outfile "$out/unsup_arith_prog.jpg" "$tmp/src_15x9.ppm"
convert "$tmp/src_15x9.ppm" -colorspace CMYK -quality 80 "$out/unsup_cmyk.jpg"
# crafted from a baseline file by rewriting the SOF marker / precision byte
python3 - "$out/s420_15x9.jpg" "$out" <<'EOF'
import sys
j = bytearray(open(sys.argv[1], 'rb').read())
i = j.index(b'\xff\xc0')
for name, marker, prec in (('unsup_12bit', 0xC1, 12), ('unsup_lossless', 0xC3, 8),
                           ('unsup_hier', 0xC5, 8)):
    k = bytearray(j)
    k[i + 1] = marker
    k[i + 4] = prec
    open('%s/%s.jpg' % (sys.argv[2], name), 'wb').write(k)
EOF
echo "make-jpeg-goldens: wrote $(ls "$out" | wc -l) files, $(du -sk "$out" | cut -f1) KB in $out"
