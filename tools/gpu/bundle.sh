#!/usr/bin/env bash
# Builds the GPU check bundle into .gpu/ (git-ignored): a self-contained linux-x64 single-file build of the CLI, a
# few golden cases, and check.sh. The build is compressed and trimmed in partial mode: only the framework's own
# trimmable assemblies are trimmed; the application's, ILGPU's (which reads the kernels' IL by reflection and
# emits code) and the other packages' assemblies are kept whole. JSON keeps its reflection-based serializer, which
# the config records use. Copy the folder to a Linux x86-64 machine that has the NVIDIA driver (no .NET, no network
# needed) and run
#   .gpu/check.sh .gpu
# Usage: tools/gpu/bundle.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.gpu}
cases=(musicgen-short musicgen-stereo encodec-32khz)
limit_mib=60

rm -rf "$out"
mkdir -p "$out/golden"
# Built under its own artifacts folder, so the trimmed, documentation-less build never replaces the ordinary one.
publish() { # publish PROJECT OUT_SUBDIR
    dotnet publish "$root/$1" -c Release -r linux-x64 --self-contained true --artifacts-path "$root/.gpu-build" \
        -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
        -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true -p:JsonSerializerIsReflectionEnabledByDefault=true \
        -p:DebugType=none -p:GenerateDocumentationFile=false \
        -o "$out/$2" 2>&1 | grep -E "error|warn|->" || true
}
publish Cli/Cli.csproj bin
[ -x "$out/bin/musicgen" ] || { echo "bundle: the publish did not produce $out/bin/musicgen" >&2; exit 1; }
# The ILGPU op-contract and consistency tests as one program (check.sh runs them on the GPU).
publish tools/gpu/OpTests/OpTests.csproj optests
[ -x "$out/optests/optests" ] || { echo "bundle: the publish did not produce $out/optests/optests" >&2; exit 1; }
for c in "${cases[@]}"; do cp -r "$root/golden/$c" "$out/golden/"; done
cp "$root/tools/gpu/check.sh" "$out/check.sh"
chmod +x "$out/check.sh"

bytes=$(du -sb "$out" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "bundle: $out, $mib MiB (limit $limit_mib MiB): bin $(du -sh "$out/bin" | cut -f1), optests $(du -sh "$out/optests" | cut -f1), golden $(du -sh "$out/golden" | cut -f1) (${cases[*]})"
if [ "$bytes" -ge $((limit_mib * 1048576)) ]; then
    echo "bundle: too large" >&2
    exit 1
fi
