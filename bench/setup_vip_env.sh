#!/usr/bin/env bash
# Create (or reuse) the separate virtual environment holding the reference
# library vip-hci, used only by bench/vip_side.py.  Idempotent: rerunning it
# leaves a working environment untouched.
#
#   bash bench/setup_vip_env.sh            # -> bench/.venv-vip
#   VIP_SPEC='vip-hci==2.1.1' PYTHON=python3.11 bash bench/setup_vip_env.sh
#
# opencv is deliberately NOT installed: the fastest rotation of vip-hci that is
# "available here" is scikit-image's (imlib='skimage'); vip_side.py forces
# imlib='skimage' / 'vip-fft' explicitly in any case.
# To change the version of an existing environment, delete bench/.venv-vip first.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VIP_VENV:-$HERE/.venv-vip}"
PY="${PYTHON:-python3}"
VIP_SPEC="${VIP_SPEC:-vip-hci==2.1.1}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $("$PY" --version 2>&1)"
    "$PY" -m venv "$VENV"
fi

if "$VENV/bin/python" -c "import vip_hci, skimage" >/dev/null 2>&1; then
    echo "vip-hci already installed in $VENV: $("$VENV/bin/python" -c 'import vip_hci; print(vip_hci.__version__)')"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "$VIP_SPEC" threadpoolctl
fi

if "$VENV/bin/python" -c "import cv2" >/dev/null 2>&1; then
    echo "NOTE: opencv got installed in $VENV (pulled in by a dependency);" \
         "vip_side.py forces imlib='skimage' anyway." >&2
else
    echo "opencv absent (as intended): VIP's fastest rotation here is imlib='skimage'"
fi
"$VENV/bin/python" -c "import vip_hci, numpy, scipy, skimage; print('vip_hci', vip_hci.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'skimage', skimage.__version__)"
