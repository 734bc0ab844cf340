#!/usr/bin/env bash
# Installs everything apt-ostree's demo and tests need on a fresh Debian 12 machine (as root):
# the Debian tools apt-ostree drives, and the npm dependencies (which also builds lib/).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian packages apt-ostree and its tests use. Keep this list in one place.
DEBIAN_PACKAGES=(
  ostree bubblewrap mmdebstrap apt-utils dpkg-dev fakeroot dbus e2fsprogs attr
  ca-certificates groff-base man-db zsh bash-completion lintian systemd
  qemu-system-x86 shellcheck gnupg grub-emu
  fdisk dosfstools mtools grub-common grub-pc-bin grub-efi-amd64-bin ovmf qemu-utils
  python3-gi gir1.2-ostree-1.0 eatmydata procps git python3-prometheus-client
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "apt-ostree needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# npm ci runs the build through the "prepare" script.
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm run build
fi
