/**
 * Every process a program started, also those that left its process group (`setsid`, a daemon's
 * double fork): the program runs with a marker in its environment (MARKER_VARIABLE=a random
 * value), which its descendants inherit whatever session or parent they end up with, and the
 * marked processes are found in /proc/PID/environ (the way Jenkins' ProcessTreeKiller finds a
 * build's leftovers). Children of a marked process that cleared their environment are found by
 * their parent while it still lives.
 *
 * Why not a PID namespace (bwrap --unshare-pid) or a cgroup: a health check must see the system
 * it judges as it is (its PIDs: `kill -0 $(cat /run/x.pid)`, /proc, mounts), and a transient
 * cgroup needs systemd, which the tests and a sysroot directory do not have. What clears its
 * environment and re-parents itself escapes this; under systemd the unit's cgroup still holds it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export const MARKER_VARIABLE = 'APT_OSTREE_PROCESS_TREE';

/** A new marker: the value to set as MARKER_VARIABLE in the program's environment. */
export function newProcessTreeMarker(): string {
  return randomBytes(12).toString('hex');
}

/** The PIDs of the processes that carry `marker`, with their descendants. */
export function markedProcesses(marker: string): number[] {
  const needle = Buffer.from(`${MARKER_VARIABLE}=${marker}\0`);
  const parentOf = new Map<number, number>();
  const marked = new Set<number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const environ = readFileSync(`/proc/${pid}/environ`);
      if (environ.subarray(0, needle.length).equals(needle) || environ.includes(Buffer.concat([Buffer.from([0]), needle]))) marked.add(pid);
    } catch {
      /* gone meanwhile, or a kernel thread */
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!marked.has(pid) && marked.has(ppid)) {
        marked.add(pid);
        grew = true;
      }
    }
  }
  return [...marked];
}

/**
 * Send `signal` to every process that carries `marker`, looking again until none is found (a
 * process may fork between a look and its kill); with SIGKILL, none can go on running (the kernel
 * may take a moment to end them, a SIGKILL cannot be caught). Returns how many were signalled.
 */
export function signalMarkedProcesses(marker: string, signal: NodeJS.Signals, rounds = 20): number {
  let signalled = 0;
  for (let i = 0; i < rounds; i++) {
    const pids = markedProcesses(marker);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
        signalled++;
      } catch {
        /* gone */
      }
    }
    if (signal !== 'SIGKILL') break;
  }
  return signalled;
}
