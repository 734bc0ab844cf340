/**
 * Which packages a deployment layers: the set arithmetic of install/uninstall on the origin's
 * requests, with the checks rpm-ostree users expect. Pure: unit tested.
 *
 * A request is kept as the admin typed it (`htop`, `htop=3.2.2-2`, `htop/bookworm-backports`)
 * so that re-resolving on a new base honours it; it is matched by package name.
 */
import { AptOstreeError } from '../../errors.js';
import { localName, requestName, type Origin } from '../deployments/origin.js';

export interface LayerChange {
  install: string[];
  uninstall: string[];
  /** requested-local entries (`SHA256:name`) to add. */
  installLocal: string[];
  uninstallAll?: boolean;
  /** Already requested / not requested is not an error. */
  idempotent?: boolean;
  /** Allow requesting a package the base already has. */
  allowInactive?: boolean;
}

export interface LayerState {
  requested: string[];
  requestedLocal: string[];
}

export function applyLayerChange(current: LayerState, change: LayerChange, basePackages: ReadonlySet<string>): LayerState & { changed: boolean } {
  let requested = [...current.requested];
  let requestedLocal = [...current.requestedLocal];
  const problems: string[] = [];
  const hints = new Set<string>();

  if (change.uninstallAll) {
    requested = [];
    requestedLocal = [];
  }
  for (const name of change.uninstall) {
    const before = requested.length + requestedLocal.length;
    requested = requested.filter((r) => requestName(r) !== name);
    requestedLocal = requestedLocal.filter((r) => localName(r) !== name);
    if (requested.length + requestedLocal.length === before && !change.uninstallAll) {
      if (basePackages.has(name)) {
        problems.push(`'${name}' is part of the base image, not a layered package`);
        hints.add(`To remove a base package, use: apt-ostree override remove ${name}`);
      } else if (!change.idempotent) {
        problems.push(`'${name}' is not a layered package`);
        hints.add('See the layered packages with `apt-ostree status`; use --idempotent to ignore this.');
      }
    }
  }
  for (const req of change.install) {
    const name = requestName(req);
    const existing = requested.find((r) => requestName(r) === name);
    if (existing !== undefined) {
      if (existing === req && change.idempotent) continue;
      problems.push(existing === req ? `'${name}' is already requested` : `'${name}' is already requested as '${existing}'`);
      hints.add(existing === req ? 'Use --idempotent to ignore this.' : `Uninstall '${existing}' first, or use both --uninstall ${name} and the new request.`);
      continue;
    }
    if (basePackages.has(name) && !change.allowInactive) {
      problems.push(`'${name}' is already in the base image`);
      hints.add('Use --allow-inactive to request it anyway (it stays requested if a later base drops it).');
      continue;
    }
    requested.push(req);
  }
  for (const entry of change.installLocal) {
    const name = localName(entry);
    const existing = requestedLocal.find((r) => localName(r) === name);
    if (existing === entry) {
      if (!change.idempotent) {
        problems.push(`the local package '${name}' is already requested`);
        hints.add('Use --idempotent to ignore this.');
      }
      continue;
    }
    if (existing) requestedLocal = requestedLocal.filter((r) => r !== existing);
    requestedLocal.push(entry);
  }
  if (problems.length) {
    throw new AptOstreeError(`Cannot change the layered packages: ${problems.join('; ')}.`, { hint: [...hints].join(' ') });
  }
  const changed = !sameSet(requested, current.requested) || !sameSet(requestedLocal, current.requestedLocal);
  return { requested: requested.sort(), requestedLocal: requestedLocal.sort(), changed };
}

/**
 * The origin with a LayerChange applied to its layered packages (install, uninstall, and
 * `reset --install`): applyLayerChange on the origin's requests, against the base's packages.
 */
export function withLayerChange(origin: Origin, change: LayerChange, base: ReadonlyArray<{ name: string }>): Origin {
  const next = applyLayerChange(
    { requested: origin.requestedPackages, requestedLocal: origin.requestedLocalPackages },
    change,
    new Set(base.map((p) => p.name)),
  );
  return { ...origin, requestedPackages: next.requested, requestedLocalPackages: next.requestedLocal };
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
