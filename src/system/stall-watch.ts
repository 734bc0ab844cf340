/**
 * A stall timeout for a program that has none of its own: `ostree pull` before 2023.7 ignores
 * its low-speed limit and waits for ever on a server that stops sending in the middle of an
 * object (its libsoup fetcher has no read timeout). Progress is what the process reads and
 * writes (rchar + wchar of /proc/PID/io: a download is read from its socket and written to the
 * repository), and the lines it prints; none for the given time is a stall.
 */
import { readFileSync } from 'node:fs';

/** rchar + wchar of a process (all its threads), or undefined once it is gone. */
export function ioBytes(pid: number): number | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const value = (key: string) => Number(new RegExp(`^${key}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
    return value('rchar') + value('wchar');
  } catch {
    return undefined;
  }
}

export interface StallWatch {
  /** Something else showed progress (a line of output). */
  activity(): void;
  stop(): void;
}

/** Call `onStall` once when the process `pid` makes no progress for `seconds`. */
export function watchForStall(pid: number, seconds: number, onStall: () => void, pollMs = 1000): StallWatch {
  let last = ioBytes(pid);
  let lastProgress = Date.now();
  const timer = setInterval(() => {
    const now = ioBytes(pid);
    if (now === undefined) return;
    if (now !== last) {
      last = now;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress >= seconds * 1000) {
      clearInterval(timer);
      onStall();
    }
  }, pollMs);
  timer.unref();
  return {
    activity: () => {
      lastProgress = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
