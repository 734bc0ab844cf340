/**
 * The keys of the metadata apt-ostree writes into commits (docs/layout.md, "Commit metadata"):
 * one list, read by compose, layering, status, db and the DBus interface alike.
 */
export const META = {
  /** Composed images: hash of everything the build used, to skip an identical rebuild. */
  inputHash: 'aptostree.inputhash',
  /** Composed images: the manifest, as JSON. */
  manifest: 'aptostree.manifest',
  /** Composed images: kernel arguments a deployment of the image starts with. */
  kargs: 'aptostree.kargs',
  /** Every image: the dpkg package list (name, version, architecture) for db and status. */
  pkglist: 'aptostree.dpkg.pkglist',
  /** Layered commits: marks a commit as a client-side layer. */
  clientLayer: 'aptostree.clientlayer',
  /** Layered commits: the base commit the layer was built on. */
  baseChecksum: 'aptostree.base-checksum',
  /** Layered commits: the packages as the admin asked for them. */
  requestedPackages: 'aptostree.requested-packages',
  /** Layered commits: the packages the layer added (requests and dependencies). */
  packages: 'aptostree.packages',
  removedBasePackages: 'aptostree.removed-base-packages',
  replacedBasePackages: 'aptostree.replaced-base-packages',
  initramfsArgs: 'aptostree.initramfs-args',
} as const;
