#!/bin/sh
# Regenerates the six original golden cases with make_case.py and compares them with the committed copies:
#   1. from their specs alone (seeded random weights, test signals, tokenizer files copied), and
#   2. from the committed checkpoint folders (--from-checkpoint), re-run through the reference.
# Usage: golden/tools/validate_originals.sh [WORKDIR]      (PYTHONPATH defaults to the reference environment)
set -u
here=$(cd "$(dirname "$0")" && pwd)
golden=$(cd "$here/.." && pwd)
work=${1:-$(mktemp -d /tmp/golden-validate.XXXXXX)}
export PYTHONPATH="${PYTHONPATH:-/tmp/ref/src:/work/shared/reference/shims}"
status=0
for c in encodec-32khz musicgen-mono musicgen-stereo musicgen-prompt musicgen-unconditional musicgen-melody; do
    for mode in seeded checkpoint; do
        out="$work/$mode/$c"
        rm -rf "$out"; mkdir -p "$work/$mode"
        if [ "$mode" = seeded ]; then
            /usr/bin/python3 "$here/make_case.py" "$here/specs/$c.json" --out "$out" > "$out.log" 2>&1 || status=1
        else
            /usr/bin/python3 "$here/make_case.py" "$here/specs/$c.json" --from-checkpoint "$golden/$c/model" \
                --out "$out" > "$out.log" 2>&1 || status=1
        fi
        echo "== $c ($mode)"
        /usr/bin/python3 "$here/compare_case.py" --quiet "$golden/$c" "$out" | grep -v 'bytes equal$' || status=1
        if diff -r "$golden/$c" "$out" > /dev/null; then
            echo "  diff -r: every file identical"
        else
            echo "  diff -r: files differ: $(diff -rq "$golden/$c" "$out" | wc -l)"
        fi
    done
done
echo "work folder: $work"
exit $status
