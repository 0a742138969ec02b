#!/usr/bin/env bash
# Replay the platform's hand-off under the platform's own versions (the organizers'
# environment.yml): python 3.11, torch 2.5.1, torchvision 0.20.1, numpy 1.26.4, pillow 11.1.0,
# scikit-learn 1.6.0, tqdm 4.66.2, cloudpickle. `noisy-select submission` then runs the exported
# notebook in final mode (solution cell, cloudpickle cell), loads the pickle in a fresh
# interpreter without noisy_select, and trains with the organizers' loop, all in that venv.
#
# Not part of CI: PyPI's torch 2.5.1 is the CUDA 12.4 build, about 5.6 GB installed.
#   scripts/check_platform_versions.sh [VENV]        (default .venv-platform, reused if there)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-platform}
pins=(torch==2.5.1 torchvision==0.20.1 numpy==1.26.4 pillow==11.1.0 scikit-learn==1.6.0
      tqdm==4.66.2)
[ -x "$venv/bin/python" ] || python3.11 -m venv "$venv"
"$venv/bin/pip" install -q "${pins[@]}" cloudpickle pandas matplotlib
# noisy_select itself without its dependencies, then the rest with the pins held.
"$venv/bin/pip" install -q --no-deps -e .
"$venv/bin/pip" install -q mlxtend nbformat gdown "${pins[@]}"
"$venv/bin/python" - <<'PY'
import platform, numpy, torch, torchvision, sklearn, cloudpickle
print(f"python {platform.python_version()}, torch {torch.__version__}, torchvision "
      f"{torchvision.__version__}, numpy {numpy.__version__}, scikit-learn {sklearn.__version__}, "
      f"cloudpickle {cloudpickle.__version__}")
PY
out=$(mktemp -d)
"$venv/bin/python" -m noisy_select submission -o "$out/submission.ipynb" --check-scale 0.2
rm -rf "$out"
