#!/usr/bin/env bash
# Build the self-contained folder bundle dist/network-explorer/ with PyInstaller.
#   packaging/build_bundle.sh            # uses the python on PATH (an activated venv)
#   PYTHON=/path/to/python packaging/build_bundle.sh
# The environment needs the project's dependencies and `pip install pyinstaller`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
"$python" -m PyInstaller --version >/dev/null 2>&1 || {
    echo "build_bundle.sh: PyInstaller is not installed for $python (pip install pyinstaller)" >&2
    exit 2
}
"$python" -m PyInstaller --noconfirm --clean \
    --distpath dist --workpath build/pyinstaller packaging/network-explorer.spec
bundle=dist/network-explorer
echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1))"
echo "run it: $bundle/network-explorer   (no arguments: the window; --help: the commands)"
