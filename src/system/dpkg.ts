/** Typed wrappers around dpkg-deb for local .deb files, and dpkg's own questions. */
import { InputError } from '../errors.js';
import { parseDeb822 } from '../debian/deb822.js';
import { packageNameProblem } from '../debian/names.js';
import { versionProblem } from '../debian/version.js';
import { run } from './run.js';

export interface DebInfo {
  name: string;
  version: string;
  architecture: string;
}

/** Read and validate the control fields of a .deb file. */
export async function readDebInfo(path: string): Promise<DebInfo> {
  let stdout: string;
  try {
    ({ stdout } = await run('dpkg-deb', ['--field', path, 'Package', 'Version', 'Architecture'], { what: `reading ${path}` }));
  } catch {
    throw new InputError(`'${path}' is not a readable Debian package.`, 'Give the path of a .deb file built with dpkg-deb.');
  }
  const s = parseDeb822(stdout)[0];
  const info = { name: s?.get('Package') ?? '', version: s?.get('Version') ?? '', architecture: s?.get('Architecture') ?? '' };
  const problem = packageNameProblem(info.name) ?? versionProblem(info.version);
  if (problem || !info.architecture) {
    throw new InputError(`'${path}' has invalid package metadata: ${problem ?? 'no Architecture field'}.`, 'Rebuild the package with valid control fields.');
  }
  return info;
}

/** Every control field of a .deb file (`dpkg-deb --field PATH`), as the control file has them. */
export async function readDebControl(path: string): Promise<string> {
  return (await run('dpkg-deb', ['--field', path], { what: `reading the control fields of ${path}` })).stdout;
}

/** `dpkg --print-architecture`: the host's Debian architecture (amd64). */
export async function dpkgArchitecture(): Promise<string> {
  return (await run('dpkg', ['--print-architecture'], { what: 'dpkg --print-architecture' })).stdout.trim();
}
