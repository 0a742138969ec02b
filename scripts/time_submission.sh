#!/usr/bin/env bash
# Time a full run of the generated submission notebook offline: the fixed download cells fetch
# zips of the olympiad proxy from a stand-in gdown, then train 6 epochs and print the score.
# Usage: scripts/time_submission.sh [WORKDIR] [STRATEGY]
set -euo pipefail
work=${1:-$(mktemp -d)}
strategy=${2:-your_select_indices}
mkdir -p "$work/served" "$work/fake" "$work/run"
noisy-select data --data "$work/proxy" --force > /dev/null
python3 - "$work" <<'PY'
import shutil, sys
from noisy_select.competition import TRAIN_DATASET_URL, VAL_DATASET_URL
work = sys.argv[1]
for split, file_id in (("train", TRAIN_DATASET_URL), ("val", VAL_DATASET_URL)):
    shutil.make_archive(f"{work}/served/{file_id}", "zip", root_dir=f"{work}/proxy", base_dir=split)
PY
cat > "$work/fake/gdown.py" <<'PY'
import os, shutil
def download(url, output, fuzzy=False):
    shutil.copy(os.path.join(os.environ["FAKE_GDOWN_DIR"], url.split("id=")[-1] + ".zip"), output)
    return output
PY
noisy-select submission --out "$work/run/submission.ipynb" --strategy "$strategy"
cd "$work/run"
start=$(date +%s.%N)
FAKE_GDOWN_DIR="$work/served" PYTHONPATH="$work/fake${PYTHONPATH:+:$PYTHONPATH}" \
    jupyter execute submission.ipynb --output executed.ipynb 2>/dev/null
end=$(date +%s.%N)
python3 - "$work/run/executed.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
for cell in nb["cells"]:
    for out in cell.get("outputs", []):
        text = "".join(out.get("text", ""))
        for line in text.splitlines():
            if line.startswith(("Balanced Accuracy", "Final Score", "Using")):
                print(line)
PY
echo "wall time of the notebook: $(python3 -c "print(round($end - $start, 1))") s"
