#!/bin/sh
# regen-weights.sh — rebuilds weights/faceres.feb from the npm package @vladmandic/face-api
# 1.7.15 and checks that the result is byte-identical to the committed blob.
#
#   tools/regen-weights.sh [--write] [TARBALL.tgz]
#
# TARBALL is the package tarball (as `npm pack` makes it). Without it, the script runs
# `npm pack @vladmandic/face-api@1.7.15` in a temporary directory (network needed then; builds
# and tests never need this script). The sha256 of both source files is checked against the
# values in weights/PROVENANCE.md before anything is converted. Exit status 0 when the result
# is identical to weights/faceres.feb and to weights/faceres.feb.sha256, 1 otherwise (the
# message says which check failed). --write replaces the committed blob and its .sha256 with
# the result instead (for a deliberate format change; review the diff).
set -eu

PKG='@vladmandic/face-api@1.7.15'
MANIFEST_SHA=cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
BIN_SHA=b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
MANIFEST=package/model/face_recognition_model-weights_manifest.json
BIN=package/model/face_recognition_model.bin

die() { echo "regen-weights: $*" >&2; exit 1; }

write=0
tarball=
for a in "$@"; do
    case "$a" in
    --write) write=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "regen-weights: unknown option $a (see --help)" >&2; exit 2 ;;
    *) [ -z "$tarball" ] || { echo "regen-weights: one tarball only" >&2; exit 2; }; tarball=$a ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regen-weights.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

if [ -z "$tarball" ]; then
    command -v npm >/dev/null 2>&1 || die "no tarball given and npm is not installed"
    echo "regen-weights: npm pack $PKG" >&2
    (cd "$tmp" && npm pack --silent "$PKG" >/dev/null) || die "npm pack $PKG failed"
    tarball=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
    [ -n "$tarball" ] || die "npm pack produced no tarball"
fi
[ -f "$tarball" ] || die "$tarball: no such file"

mkdir "$tmp/x"
tar -xzf "$tarball" -C "$tmp/x" "$MANIFEST" "$BIN" || die "$tarball: cannot extract $MANIFEST and $BIN"
got=$(sha256 "$tmp/x/$MANIFEST")
[ "$got" = "$MANIFEST_SHA" ] || die "$MANIFEST: sha256 $got, expected $MANIFEST_SHA (wrong package version?)"
got=$(sha256 "$tmp/x/$BIN")
[ "$got" = "$BIN_SHA" ] || die "$BIN: sha256 $got, expected $BIN_SHA (wrong package version?)"
echo "regen-weights: source files match their sha256" >&2

make -C "$root" --no-print-directory tools >&2 || die "building the converter failed"
conv="$root/build/rel/tools/faceapi2feb"
"$conv" "$tmp/x/$MANIFEST" "$tmp/x/$BIN" "$tmp/faceres.feb" >&2 || die "the converter failed"

new_sha=$(sha256 "$tmp/faceres.feb")
if [ "$write" = 1 ]; then
    cp "$tmp/faceres.feb" "$root/weights/faceres.feb.new" && mv "$root/weights/faceres.feb.new" "$root/weights/faceres.feb"
    echo "$new_sha  faceres.feb" > "$root/weights/faceres.feb.sha256"
    echo "regen-weights: wrote weights/faceres.feb ($new_sha)"
    exit 0
fi
cmp -s "$tmp/faceres.feb" "$root/weights/faceres.feb" ||
    die "the regenerated blob ($new_sha) differs from weights/faceres.feb ($(sha256 "$root/weights/faceres.feb"))"
committed=$(cut -d' ' -f1 "$root/weights/faceres.feb.sha256")
[ "$committed" = "$new_sha" ] || die "weights/faceres.feb.sha256 says $committed, the blob is $new_sha"
echo "regen-weights: OK: byte-identical to weights/faceres.feb (sha256 $new_sha)"
