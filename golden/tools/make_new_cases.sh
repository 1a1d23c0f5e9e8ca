#!/bin/sh
# (Re)generates the cases made with make_case.py into golden/<name>/ (deterministic: same bytes every run).
# Usage: golden/tools/make_new_cases.sh [name ...]          (default: all of them)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
golden=$(cd "$here/.." && pwd)
export PYTHONPATH="${PYTHONPATH:-/tmp/ref/src:/work/shared/reference/shims}"
names=${*:-"musicgen-mono-f16 musicgen-stereo-sharded musicgen-heads64 encodec-32khz-bf16 resample-32k chroma-edges chroma-30s chroma-chunk1"}
for c in $names; do
    rm -rf "$golden/$c"
    /usr/bin/python3 "$here/make_case.py" "$here/specs/$c.json" --out "$golden/$c" 2>&1 \
        | grep -v -e 'Warning' -e 'warnings.warn' -e 'register_buffer' -e 'Loading checkpoint shards' -e 'stereo signals' || true
done
du -sh $(for c in $names; do echo "$golden/$c"; done)
