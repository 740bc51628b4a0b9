#!/usr/bin/env bash
# One prepared run on a GPU machine (the `device` tool; never in CI): WebGPU (Dawn, Vulkan) training of the
# default PQFed model, fused engine and tfjs, against PyTorch CUDA on the same card, in one run.
# Needs .gpu/ from bench/gpu/bundle.sh (carried). Writes $OUT/{gpu.txt,webgpu.json,webgpu.log,torch-cuda.json}.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/pqfed-gpu}
mkdir -p "$out"
batches=${BATCHES:-64,256,1024,4096,16384}
seconds=${SECONDS_EACH:-4}
for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
xz -dc .gpu/node.xz >/tmp/node && chmod +x /tmp/node
{ date -u +%FT%TZ; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; lscpu | grep 'Model name'; } \
  | tee "$out/gpu.txt"
(cd .gpu && timeout 240 /tmp/node webgpu-node.mjs --batches "$batches" --seconds "$seconds") \
  >"$out/webgpu.out" 2>"$out/webgpu.log"
echo "webgpu exit $?"
tail -n 1 "$out/webgpu.out" >"$out/webgpu.json"
cat "$out/webgpu.log"
PYTHONUNBUFFERED=1 timeout 150 python3 bench/reference_torch.py --device cuda --batches "$batches" \
  --seconds "$seconds" >"$out/torch-cuda.json"
echo "torch exit $?"
cat "$out/webgpu.json" "$out/torch-cuda.json"
