#!/usr/bin/env bash
# Checks a real GPU with the bundle tools/gpu/bundle.sh built, on a bare Linux x86-64 machine (the NVIDIA driver,
# no .NET, no network): lists the devices, runs the op-contract tests and verifies the bundled golden cases on the
# device (and on NVIDIA's OpenCL when its ICD is installed), benches musicgen-small- and -medium-sized models at f32, q8 and q4 (ms per step,
# launches and synchronizations per step, device memory, the codec), and ends with one summary table.
# Usage: check.sh BUNDLE_DIR [DEVICE]   (DEVICE: cuda by default; ilgpu-cpu or cpu to try the script anywhere)
# Env: CHECK_STEPS (decoding steps to time per row, default 10), CHECK_WORK (scratch folder, default a temporary one).
set -uo pipefail
bundle=$(cd "${1:?usage: check.sh BUNDLE_DIR [DEVICE]}" && pwd)
device=${2:-cuda}
steps=${CHECK_STEPS:-10}
exe="$bundle/bin/musicgen"
work=${CHECK_WORK:-$(mktemp -d)}
mkdir -p "$work"
# The single-file host extracts native libraries here; HOME may be unset or read-only on a bare machine.
export DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/extract" HOME="${HOME:-$work}"
summary=()
note() { summary+=("$(printf '%-34s %s' "$1" "$2")"); }

step() { # step NAME TIMEOUT_S COMMAND…: runs, shows the output, records pass/fail and the seconds taken
    local name=$1 limit=$2 start rc
    shift 2
    echo
    echo "=== $name: $*"
    start=$(date +%s.%N)
    timeout "$limit" "$@" 2>&1 | tee "$work/last.log"
    rc=${PIPESTATUS[0]}
    local seconds
    seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    if [ "$rc" -eq 0 ]; then note "$name" "ok (${seconds} s)"; else note "$name" "FAILED rc=$rc (${seconds} s)"; fi
    return "$rc"
}

verify_on() { # verify_on DEVICE: every bundled case, with the per-case pass counts in the summary
    local on=$1 cases=("$bundle"/golden/*/)
    step "verify on $on" 300 "$exe" verify "${cases[@]}" --device "$on"
    local counts
    counts=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$work/last.log" | tail -1)
    note "  tensors on $on" "${counts:-no result}"
}

bench_on() { # bench_on DEVICE SIZE: per weight type f32, q8, q4: ms per decoding step (batch 2 with guidance), steps/s,
    # kernel launches and synchronizations per step and per layer, device memory; then the codec's time for 10 s
    local on=$1 size=$2
    step "bench $size on $on" 300 "$exe" bench --size "$size" --weights f32,q8,q4 --cache q8 --piece 0 --steps "$steps" \
        --device "$on" --checkpoint "$work/bench-$size"
    while IFS= read -r line; do note "  $size on $on" "$line"; done \
        < <(grep -E "^(weights |f32 |q8 |q4 )|device memory:|^EnCodec (decode|encode) " "$work/last.log")
}

echo "GPU check: bundle $bundle, device $device, $(uname -srm), $(nproc) cores"
if command -v nvidia-smi > /dev/null; then
    while IFS= read -r gpu; do note "nvidia-smi" "$gpu"; echo "nvidia-smi: $gpu"; done \
        < <(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1)
fi
step "devices" 120 "$exe" devices
opencl_gpu=$(grep -E "^opencl:[0-9]+ .*\(GPU\)" "$work/last.log" | head -1 | awk '{print $1}')

optests_on() { # optests_on LABEL CLASS…: the op-contract and consistency tests of those classes, with the counts in the summary
    local label=$1
    shift
    step "op tests on $label" 300 "$bundle/optests/optests" "$@"
    note "  op tests on $label" "$(grep -E "^optests: [0-9]+ passed" "$work/last.log" | tail -1 | cut -d'(' -f1)"
}
# ILGPU's kernels on the device (cuda; the CPU emulator otherwise), and the OpenCL C kernels on the OpenCL GPU.
ilgpu_kind=ilgpu-cpu; [ "$device" = cuda ] && ilgpu_kind=cuda
MUSICGEN_ILGPU_DEVICE=$ilgpu_kind optests_on "$ilgpu_kind" IlgpuBackendOpsTests IlgpuConsistencyTests
[ -n "$opencl_gpu" ] && MUSICGEN_REQUIRE_OPENCL=1 optests_on "$opencl_gpu" OpenClBackendOpsTests OpenClConsistencyTests
verify_on "$device"
[ -n "$opencl_gpu" ] && verify_on "$opencl_gpu"
for size in small medium; do
    bench_on "$device" "$size"
    [ -n "$opencl_gpu" ] && bench_on "$opencl_gpu" "$size"
done

echo
echo "===================== GPU check summary ====================="
printf '%s\n' "${summary[@]}"
echo "=============================================================="
[ -z "${CHECK_WORK:-}" ] && rm -rf "$work"
