/**
 * The query methods of the OS objects (GetDeploymentsRpmDiff, GetCachedUpdateRpmDiff,
 * GetCachedRebaseRpmDiff, GetDeploymentBootConfig, GetPackages, ListRepos, WhatProvides): answers
 * read from the sysroot as the service last loaded it, as the values rpm-ostree returns.
 */
import { join } from 'node:path';
import dbus from 'dbus-next';
import { readBootEntry } from '../ostree/boot-entry.js';
import { parseRefspec, resolveRefFile } from '../ostree/refs.js';
import { commitPackages, type PackageEntry } from '../engine/deployments/packages.js';
import { aptWhatProvides } from '../engine/layering/apt-provides.js';
import { readAptSources } from '../engine/layering/apt-sources.js';
import { requireLists, withDeploymentApt } from '../engine/layering/apt-lists.js';
import type { SysrootStatus } from '../engine/status.js';
import type { Deployment, Sysroot } from '../engine/deployments/sysroot.js';
import { CallError, ERRORS } from './names.js';
import { packageDict, repoDict, rpmDiff } from './values.js';
import { jsonDict, type VarDict } from './variant.js';

const { Variant } = dbus;

/** The keys of a deployment's boot entry that GetDeploymentBootConfig returns, as rpm-ostree does. */
const BOOT_CONFIG_KEYS = new Set(['title', 'linux', 'initrd', 'options', 'version']);

/** What the queries read: the sysroot and its status as last loaded (none before `admin provision` made one). */
export interface LoadedSysroot {
  sysrootPath: string;
  sysroot?: Sysroot;
  status?: SysrootStatus;
}

export class OsQueries {
  constructor(private readonly state: () => LoadedSysroot) {}

  /** The cached update's commit when it is for `os` and in the repository. */
  cachedUpdateChecksum(os: string): string | undefined {
    const cached = this.state().status?.['cached-update'];
    if (!cached || (cached.osname !== undefined && cached.osname !== os)) return undefined;
    const checksum = typeof cached.checksum === 'string' ? cached.checksum : undefined;
    return checksum && this.state().sysroot?.commit(checksum) ? checksum : undefined;
  }

  /** The sysroot as last loaded; queries need one (there is none before `admin provision` made it). */
  private loaded(): Sysroot {
    const { sysroot, sysrootPath } = this.state();
    if (!sysroot) throw new CallError(ERRORS.failed, `${sysrootPath} is not an OSTree sysroot (yet).`);
    return sysroot;
  }

  private deploymentById(id: string): Deployment {
    const sysroot = this.loaded();
    const i = this.state().status?.deployments.findIndex((d) => d.id === id) ?? -1;
    if (i < 0) throw new CallError(ERRORS.notFound, `Deployment with id '${id}' not found`);
    return sysroot.deployments[i]!;
  }

  async packagesOf(checksum: string, treeRoot?: string): Promise<PackageEntry[]> {
    return (await commitPackages(this.loaded(), checksum, { treeRoot })).packages;
  }

  async deploymentsDiff(id0: string, id1: string): Promise<unknown[]> {
    const [d0, d1] = [this.deploymentById(id0), this.deploymentById(id1)];
    return rpmDiff(await this.packagesOf(d0.checksum, d0.path), await this.packagesOf(d1.checksum, d1.path));
  }

  async cachedUpdateDiff(os: string, deployid: string): Promise<unknown[]> {
    const cached = this.state().status?.['cached-update'];
    const details = cached ? jsonDict(cached, { timestamp: 't' }) : {};
    const checksum = this.cachedUpdateChecksum(os);
    if (!checksum) return [[], details];
    const sysroot = this.loaded();
    const from = deployid ? this.deploymentById(deployid) : sysroot.booted?.osname === os ? sysroot.booted : sysroot.defaultDeployment(os);
    if (!from) return [[], details];
    return [rpmDiff(await this.packagesOf(from.checksum, from.path), await this.packagesOf(checksum)), details];
  }

  /**
   * GetCachedRebaseRpmDiff: the package changes from the default deployment to the commit that
   * REFSPEC (REMOTE:REF, REF on the same remote, or REMOTE: for the same ref) names in the
   * repository. rpm-ostree answers from what DownloadRebaseRpmDiff fetched; apt-ostree has no
   * daemon to fetch it, so the ref must be there already (`apt-ostree rebase --download-only`).
   */
  async rebaseDiff(os: string, refspec: string): Promise<unknown[]> {
    const sysroot = this.loaded();
    const from = sysroot.defaultDeployment(os);
    if (!from) throw new CallError(ERRORS.failed, `No deployments found for os ${os}`);
    const current = parseRefspec(from.origin?.refspec ?? '') ?? { remote: undefined, ref: from.origin?.refspec ?? '' };
    const given = parseRefspec(refspec);
    const target = refspec.endsWith(':') ? `${refspec}${current.ref}` : given?.remote !== undefined || !current.remote ? refspec : `${current.remote}:${refspec}`;
    const checksum = resolveRefFile(sysroot.repoPath, target);
    if (!checksum || !sysroot.commit(checksum)) {
      throw new CallError(ERRORS.failed, `${target} is not in the repository of ${sysroot.path}; fetch it first with \`apt-ostree rebase --download-only ${target}\`.`);
    }
    const commit = sysroot.commit(checksum)!;
    const details: VarDict = {
      osname: new Variant('s', os),
      checksum: new Variant('s', checksum),
      origin: new Variant('s', target),
      timestamp: new Variant('t', BigInt(commit.timestamp)),
      ...(typeof commit.metadata.version === 'string' ? { version: new Variant('s', commit.metadata.version) } : {}),
    };
    return [rpmDiff(await this.packagesOf(from.checksum, from.path), await this.packagesOf(checksum)), details];
  }

  bootConfig(os: string, deployid: string, pending: boolean): VarDict {
    const sysroot = this.loaded();
    let d: Deployment | undefined;
    if (!deployid) {
      d = pending ? sysroot.defaultDeployment(os) : sysroot.booted?.osname === os ? sysroot.booted : sysroot.defaultDeployment(os);
      if (!d) throw new CallError(ERRORS.failed, `No deployments found for os ${os}`);
    } else if (/^\d+$/.test(deployid)) {
      d = sysroot.deployments[Number(deployid)];
      if (!d) throw new CallError(ERRORS.notFound, `Invalid deployment index ${deployid}`);
    } else {
      d = this.deploymentById(deployid);
    }
    const out: VarDict = { staged: new Variant('b', d.staged) };
    if (d.staged || !d.bootEntry) {
      out.options = new Variant('s', d.kargs.join(' '));
      return out;
    }
    for (const [key, value] of readBootEntry(d.bootEntry).fields) {
      if (BOOT_CONFIG_KEYS.has(key)) out[key] = new Variant('s', value);
    }
    return out;
  }

  /** The packages of the stateroot's default deployment with the given names (rpm-ostree searches its repositories instead). */
  async packages(os: string, names: string[]): Promise<VarDict[]> {
    const d = this.loaded().defaultDeployment(os);
    if (!d) return [];
    const pkgs = await this.packagesOf(d.checksum, d.path);
    const out: VarDict[] = [];
    for (const key of names) {
      for (const p of pkgs.filter((x) => x.name === key)) out.push({ key: new Variant('s', key), ...packageDict(p) });
    }
    return out;
  }

  /**
   * ListRepos: the apt sources of the stateroot's default deployment (the ones `install`,
   * `search` and WhatProvides use), one dictionary per deb822 stanza or sources.list line.
   */
  listRepos(os: string): VarDict[] {
    const d = this.loaded().defaultDeployment(os);
    if (!d) throw new CallError(ERRORS.failed, `No deployments found for os ${os}`);
    return readAptSources(join(d.path, 'etc', 'apt')).map(repoDict);
  }

  /** WhatProvides: the packages of the stateroot's package lists named so or providing the names (apt-provides.ts). */
  async whatProvides(os: string, names: string[]): Promise<VarDict[]> {
    const found = await withDeploymentApt(this.state().sysrootPath, os, { create: false }, async (apt, sysroot, name) => {
      requireLists(apt, sysroot, name);
      return aptWhatProvides(apt, names);
    });
    return found.map((p) => ({
      ...packageDict(p),
      summary: new Variant('s', p.summary),
      ...(p.source ? { reponame: new Variant('s', p.source) } : {}),
    }));
  }
}
