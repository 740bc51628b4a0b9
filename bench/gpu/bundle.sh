#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored through .git/info/exclude) for one run of bench/gpu/device.sh on a GPU machine
# that has neither Node nor a package registry (../shared/GPU.md): Node's binary (xz), Dawn's bindings
# (npm `webgpu`, installed into a scratch folder, never into the project), the benchmark bundled with esbuild,
# and Debian's Vulkan loader and GL dispatch libraries. Run here, then carry .gpu to the device.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
grep -qxF "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >>.git/info/exclude
rm -rf "$out" && mkdir -p "$out/node_modules/webgpu/dist/linux-x64" "$out/debs"
scratch=$(mktemp -d)
(cd "$scratch" && npm init -y >/dev/null && npm install --no-audit --no-fund webgpu@0.6.2 >/dev/null)
cp "$scratch/node_modules/webgpu/"{index.js,package.json} "$out/node_modules/webgpu/"
cp "$scratch/node_modules/webgpu/dist/linux-x64/dawn.node" "$out/node_modules/webgpu/dist/linux-x64/"
rm -rf "$scratch"
npx esbuild bench/gpu/webgpu-node.ts --bundle --platform=node --format=esm --external:webgpu \
  --outfile="$out/webgpu-node.mjs" --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
lists=$(mktemp -d)
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
# shellcheck disable=SC2086
apt-get $o update >/dev/null
# shellcheck disable=SC2086
(cd "$out/debs" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
rm -rf "$lists"
du -sh "$out"
