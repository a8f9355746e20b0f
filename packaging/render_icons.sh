#!/usr/bin/env bash
# Render the app icon (resources/icons/network-explorer.svg) as the PNG sizes a desktop uses,
# into resources/icons/hicolor/NxN/apps/network-explorer.png (the freedesktop icon theme
# layout that `explorer desktop install` copies). Needs ImageMagick (`convert`) or
# rsvg-convert. Run it again after changing the SVG, and commit the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
svg=resources/icons/network-explorer.svg
for size in 16 22 24 32 48 64 128 256 512; do
    out="resources/icons/hicolor/${size}x${size}/apps/network-explorer.png"
    mkdir -p "$(dirname "$out")"
    if command -v rsvg-convert >/dev/null; then
        rsvg-convert -w "$size" -h "$size" -o "$out" "$svg"
    else
        # render at 4x the target density, then scale down: crisp small sizes
        convert -background none -density $((size * 4 * 72 / 256)) "$svg" \
            -resize "${size}x${size}" -strip "PNG32:$out"
    fi
    echo "$out"
done
