#!/usr/bin/env bash
# apt-ostree in one command, on a fresh Debian 12 machine, as root:
#
#   sudo bash examples/demo.sh
#
# 1. installs what is missing (Debian packages, npm dependencies) and builds apt-ostree;
# 2. composes examples/minimal-bookworm.yaml (Debian 12 minbase + apt) into ./demo/repo,
#    an OSTree repository, keeping downloaded packages in ./demo/cache, and signs the commit
#    with a THROWAWAY GPG key it generates in ./demo/gnupg (no passphrase: for the demo only;
#    a real image is signed with a key kept offline, see docs/publishing.md);
# 3. provisions ./demo/sysroot: an OSTree sysroot with that image deployed, verified with
#    the throwaway key's public half (apt-ostree refuses unverified images by default);
# 4. layers a package on top of it (a new deployment; the image itself stays unchanged);
# 5. shows the deployments with `apt-ostree status`.
#
# Running it again is cheap: the compose finds nothing changed (same inputhash) and the
# provisioning finds the same commit already deployed. DEMO_DIR=/path moves ./demo.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
  echo "The demo builds images and sysroots, which needs root: sudo bash examples/demo.sh" >&2
  exit 1
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing what is missing and building apt-ostree (scripts/setup.sh)"
bash scripts/setup.sh

DEMO=${DEMO_DIR:-$PWD/demo}
MANIFEST=examples/minimal-bookworm.yaml
REF=$(sed -n 's/^ref:[[:space:]]*//p' "$MANIFEST")
apt_ostree() { node bin/apt-ostree "$@"; }
mkdir -p "$DEMO"

export GNUPGHOME=$DEMO/gnupg
if [[ ! -d $GNUPGHOME ]]; then
  step "Generating a throwaway signing key in $GNUPGHOME (demo only: no passphrase)"
  mkdir -m 700 "$GNUPGHOME"
  gpg --batch --passphrase '' --quick-gen-key 'apt-ostree demo (throwaway) <demo@localhost>' ed25519 sign never
fi
KEY=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr/ { print $10; exit }')
gpg --batch --armor --export "$KEY" > "$DEMO/demo-key.asc"

step "Composing $MANIFEST into $DEMO/repo (ref $REF), signed with the demo key $KEY"
apt_ostree compose tree "$MANIFEST" --repo "$DEMO/repo" --cachedir "$DEMO/cache" --gpg-sign "$KEY" --gpg-homedir "$GNUPGHOME"

step "Provisioning the sysroot $DEMO/sysroot (verifying the image with $DEMO/demo-key.asc)"
apt_ostree --sysroot "$DEMO/sysroot" admin provision --repo "$DEMO/repo" --ref "$REF" --os debian --gpg-import "$DEMO/demo-key.asc"
gpgconf --kill gpg-agent || true

step "Layering the package 'hello' from Debian's archive (a new deployment; the image stays as it is)"
apt_ostree --sysroot "$DEMO/sysroot" install --idempotent hello
DEFAULT=$(apt_ostree --sysroot "$DEMO/sysroot" status --jsonpath '$.deployments[0].id' | sed -n 's/.*"debian-\([0-9a-f]*\.[0-9]*\)".*/\1/p')
echo "The new default deployment has it: $(ls "$DEMO/sysroot/ostree/deploy/debian/deploy/$DEFAULT/usr/bin/hello")"

step "The deployments of $DEMO/sysroot"
apt_ostree --sysroot "$DEMO/sysroot" status

cat <<EOF

Done. The image is in $DEMO/repo (ostree --repo=$DEMO/repo log $REF),
the deployment under $DEMO/sysroot/ostree/deploy/debian/deploy/.
ostree makes each deployment's top directory immutable; to delete the demo:
  chattr -i "$DEMO"/sysroot/ostree/deploy/*/deploy/*/ && rm -rf "$DEMO"
EOF
