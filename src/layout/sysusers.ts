/**
 * sysusers.d (sysusers.d(5)): the users and groups of an image as `g`, `u` and `m` lines with
 * their exact ids, so that systemd-sysusers creates at boot the ones an update adds.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from './files.js';

export interface UserGroupEntry {
  kind: 'user' | 'group' | 'member';
  name: string;
  /** uid or gid (not for members). */
  id?: number;
  /** For members: the group. */
  group?: string;
}

/**
 * One field of a sysusers.d line (sysusers.d(5)): '-' when empty; '%' doubled (systemd expands
 * specifiers in every field); quoted with \\ and \" escaped when it has spaces, quotes or backslashes.
 */
function sysusersField(s: string): string {
  if (s === '') return '-';
  const v = s.replace(/%/g, '%%');
  if (!/[\s"'\\]/.test(v)) return v;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export type SysusersLine =
  | { type: 'g'; name: string; gid: string }
  | { type: 'u'; name: string; uid: string; gid: string; gecos?: string; home?: string; shell?: string }
  | { type: 'm'; user: string; group: string };

/** The one writer of sysusers.d lines: `g NAME GID`, `u NAME UID:GID GECOS HOME SHELL`, `m USER GROUP`. */
export function formatSysusersLine(l: SysusersLine): string {
  switch (l.type) {
    case 'g':
      return `g ${sysusersField(l.name)} ${l.gid}`;
    case 'u':
      return `u ${sysusersField(l.name)} ${l.uid}:${l.gid} ${sysusersField(l.gecos ?? '')} ${sysusersField(l.home ?? '')} ${sysusersField(l.shell ?? '')}`;
    case 'm':
      return `m ${sysusersField(l.user)} ${sysusersField(l.group)}`;
  }
}

/**
 * systemd sysusers.d lines for the users and groups of /etc/passwd and /etc/group text, with
 * their exact ids: `g NAME GID`, `u NAME UID:GID "GECOS" HOME SHELL`, `m USER GROUP` for
 * supplementary members. root is left out (systemd always has it). Pure.
 *
 * Why: ostree's /etc merge keeps the admin's /etc/passwd when it was edited, so users that a
 * new image adds would be missing after the update; systemd-sysusers creates them at boot.
 */
export function sysusersConf(passwdText: string, groupText: string, filter: (e: UserGroupEntry) => boolean = (e) => e.name !== 'root'): string {
  const rows = (t: string) => t.split('\n').filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-')).map((l) => l.split(':'));
  const out: string[] = [];
  const groupNames = new Map<string, string>();
  const members: string[] = [];
  for (const [name, , gid, list = ''] of rows(groupText)) {
    if (!name || !/^\d+$/.test(gid ?? '')) continue;
    groupNames.set(gid!, name);
    if (filter({ kind: 'group', name, id: Number(gid) })) out.push(formatSysusersLine({ type: 'g', name, gid: gid! }));
    for (const m of list.split(',').map((x) => x.trim()).filter(Boolean)) {
      if (filter({ kind: 'member', name: m, group: name })) members.push(formatSysusersLine({ type: 'm', user: m, group: name }));
    }
  }
  for (const [name, , uid, gid, gecos = '', home = '', shell = ''] of rows(passwdText)) {
    if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) continue;
    if (!filter({ kind: 'user', name, id: Number(uid) })) continue;
    out.push(formatSysusersLine({ type: 'u', name, uid: uid!, gid: gid!, gecos, home, shell }));
  }
  out.push(...members);
  return out.length ? `# Written by apt-ostree: the users and groups of the image, with their ids (see docs/layout.md).\n${out.join('\n')}\n` : '';
}

/** Write usr/lib/sysusers.d/NAME.conf for every user and group of /usr/etc except root. */
export function writeSysusers(root: string, name: string): number {
  const read = (f: string) => {
    try {
      return readFileSync(join(root, 'usr/etc', f), 'utf8');
    } catch {
      return '';
    }
  };
  const text = sysusersConf(read('passwd'), read('group'));
  const file = join(root, 'usr/lib/sysusers.d', `${name}.conf`);
  if (!text) {
    rmSync(file, { force: true });
    return 0;
  }
  replaceFile(file, text, 0o644);
  return text.split('\n').filter((l) => /^[gum] /.test(l)).length;
}
