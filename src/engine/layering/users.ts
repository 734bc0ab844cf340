/**
 * Users and groups that maintainer scripts create during a layering transaction.
 *
 * Before dpkg runs, the tree gets the target deployment's own passwd/group/shadow/gshadow,
 * so that new system users get ids that collide with nothing the admin added locally. After
 * dpkg, the entries that are new are (1) appended to the base image's files in /usr/etc and
 * (2) written to a sysusers.d file with their exact ids, so that they exist after boot even
 * when ostree's /etc merge keeps an /etc/passwd the admin edited. Pure: unit tested.
 */
import { formatSysusersLine } from '../../layout/sysusers.js';

export const USER_DB_FILES = ['passwd', 'group', 'shadow', 'gshadow'] as const;
export type UserDbFile = (typeof USER_DB_FILES)[number];

export type UserDb = Record<UserDbFile, string>;

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
}

function byName(text: string): Map<string, string> {
  return new Map(lines(text).map((l) => [l.split(':', 1)[0]!, l]));
}

export interface UserChanges {
  /** Full new lines per file, in the order they appeared. */
  added: Record<UserDbFile, string[]>;
  /** Members added to groups that already existed: [user, group]. */
  memberships: Array<[string, string]>;
}

/** What the transaction added on top of `before` (the deployment's files). */
export function diffUserDb(before: UserDb, after: UserDb): UserChanges {
  const added = {} as Record<UserDbFile, string[]>;
  for (const f of USER_DB_FILES) {
    const old = byName(before[f]);
    added[f] = lines(after[f]).filter((l) => !old.has(l.split(':', 1)[0]!));
  }
  const memberships: Array<[string, string]> = [];
  const oldGroups = byName(before.group);
  for (const l of lines(after.group)) {
    const [name, , , members = ''] = l.split(':');
    const prev = oldGroups.get(name!);
    if (!prev) continue;
    const prevMembers = new Set((prev.split(':')[3] ?? '').split(',').filter(Boolean));
    for (const m of members.split(',').filter(Boolean)) if (!prevMembers.has(m)) memberships.push([m, name!]);
  }
  return { added, memberships };
}

/** The base image's file with the new entries appended and new group members added. */
export function applyUserChanges(base: UserDb, changes: UserChanges): UserDb {
  const out = {} as UserDb;
  for (const f of USER_DB_FILES) {
    const have = byName(base[f]);
    let text = base[f].endsWith('\n') || base[f] === '' ? base[f] : `${base[f]}\n`;
    for (const l of changes.added[f]) if (!have.has(l.split(':', 1)[0]!)) text += `${l}\n`;
    out[f] = text;
  }
  for (const [user, group] of changes.memberships) {
    out.group = addMember(out.group, group, user, 3);
    out.gshadow = addMember(out.gshadow, group, user, 3);
  }
  return out;
}

function addMember(text: string, group: string, user: string, field: number): string {
  return text
    .split('\n')
    .map((l) => {
      const parts = l.split(':');
      if (parts[0] !== group || parts.length <= field) return l;
      const members = parts[field]!.split(',').filter(Boolean);
      if (!members.includes(user)) members.push(user);
      parts[field] = members.join(',');
      return parts.join(':');
    })
    .join('\n');
}

/** sysusers.d lines for the new users, groups and memberships, with their exact ids. */
export function sysusersFor(changes: UserChanges): string {
  const out: string[] = [];
  for (const l of changes.added.group) {
    const [name = '', , gid = ''] = l.split(':');
    out.push(formatSysusersLine({ type: 'g', name, gid }));
  }
  for (const l of changes.added.passwd) {
    const [name = '', , uid = '', gid = '', gecos, home, shell] = l.split(':');
    out.push(formatSysusersLine({ type: 'u', name, uid, gid, gecos, home, shell }));
  }
  for (const [user, group] of changes.memberships) out.push(formatSysusersLine({ type: 'm', user, group }));
  return out.length ? `# Created by apt-ostree for layered packages.\n${out.join('\n')}\n` : '';
}
