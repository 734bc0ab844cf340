/**
 * The command line to run again as root, for "must run as root" messages: `sudo apt-ostree`
 * followed by every word the user gave (options and arguments included), each quoted for a
 * POSIX shell so that the line can be pasted as it is. No imports: loading it is free.
 */

/** Characters that need no quoting in any POSIX shell word. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Characters that single quotes cannot show readably (they would span lines or hide). */
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F]/u;

/** One word for a POSIX shell: as it is when safe, else in single quotes (or $'…' for control characters). */
export function shellQuote(word: string): string {
  if (word === '') return "''";
  if (PLAIN.test(word)) return word;
  if (UNPRINTABLE.test(word)) {
    // $'…' (bash, zsh, ksh, dash ≥ 0.5.12, POSIX.1-2024): the control character as an escape.
    const body = [...word]
      .map((c) => {
        const n = c.codePointAt(0)!;
        if (c === '\\' || c === "'") return `\\${c}`;
        if (c === '\n') return '\\n';
        if (c === '\t') return '\\t';
        if (n < 0x20 || n === 0x7f) return `\\x${n.toString(16).padStart(2, '0')}`;
        if (n >= 0x80 && n <= 0x9f) return `\\u${n.toString(16).padStart(4, '0')}`;
        return c;
      })
      .join('');
    return `$'${body}'`;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words joined into one shell command line. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * `sudo apt-ostree …` with the arguments this process was given (process.argv after the
 * script), e.g. `sudo apt-ostree install htop --sysroot '/mnt/my disk'`.
 */
export function sudoLine(args: readonly string[] = process.argv.slice(2)): string {
  return shellJoin(['sudo', 'apt-ostree', ...args]);
}

/**
 * The "must run as root" error's message and hint. `command` is what the transaction was given:
 * a command name ("install", "admin provision") or, from some callers, the command line as
 * typed ("apt-ostree install htop --sysroot /x"), of which the words before the first option
 * name the command. The hint repeats the whole command line with sudo.
 */
export function rootRequired(command: string, args: readonly string[] = process.argv.slice(2)): { message: string; hint: string } {
  const words = command.replace(/^apt-ostree(\s+|$)/, '').split(/\s+/).filter(Boolean);
  const end = words.findIndex((w) => w.startsWith('-'));
  const name = (end < 0 ? words : words.slice(0, end)).join(' ');
  return {
    message: `${name ? `apt-ostree ${name}` : 'This command'} changes the system and must run as root.`,
    hint: `Run it with sudo: ${sudoLine(args)}`,
  };
}
