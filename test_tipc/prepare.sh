#!/bin/bash
# Data staging for the TIPC configs of this repo, as upstream prepare.sh does it:
#     bash test_tipc/prepare.sh <config> <mode>
# Everything is committed (test_images/lite_data.tar, test_tipc/pretrained/), so nothing is
# downloaded: reference_model/prepare.py extracts lite_data to ./lite_data (idempotent) and checks
# the pretrained weights and demo images.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" reference_model/prepare.py "$@"
