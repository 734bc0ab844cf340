import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lockWaitWithValue, parseCommandLine } from '../../../src/cli/parser.js';
import { rootRequired, shellJoin, shellQuote, sudoLine } from '../../../src/output/sudo-line.js';
import { usageError } from '../../../src/cli/yargs.js';
import { InputError } from '../../../src/errors.js';

describe('--lock-wait on the command line', () => {
  it('keeps a number of seconds, given either way', () => {
    expect(lockWaitWithValue(['install', '--lock-wait', '30', 'hello'])).toEqual(['install', '--lock-wait=30', 'hello']);
    expect(lockWaitWithValue(['install', '--lock-wait=2.5', 'hello'])).toEqual(['install', '--lock-wait=2.5', 'hello']);
  });

  it('reads a bare --lock-wait as "wait forever", without taking the next word as its value', () => {
    expect(lockWaitWithValue(['install', '--lock-wait', 'hello'])).toEqual(['install', '--lock-wait=Infinity', 'hello']);
    expect(lockWaitWithValue(['upgrade', '--lock-wait'])).toEqual(['upgrade', '--lock-wait=Infinity']);
    expect(lockWaitWithValue(['upgrade', '--lock-wait', '--check'])).toEqual(['upgrade', '--lock-wait=Infinity', '--check']);
  });

  it('refuses a value that is not seconds, naming it', () => {
    expect(() => lockWaitWithValue(['upgrade', '--lock-wait=abc'])).toThrow(/--lock-wait needs a number of seconds, not 'abc'/);
    expect(() => lockWaitWithValue(['upgrade', '--lock-wait=-1'])).toThrow(/not '-1'/);
  });

  it('leaves everything after -- alone', () => {
    expect(lockWaitWithValue(['install', '--', '--lock-wait=abc'])).toEqual(['install', '--', '--lock-wait=abc']);
  });
});

describe('bad command lines are named, the same way for every command', () => {
  const message = (args: string[]) => {
    try {
      parseCommandLine(args);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('names an unknown option, never taking the next word as its value', () => {
    expect(message(['status', '--bogus-option'])).toBe('unknown option --bogus-option.');
    expect(message(['install', '--bogus', 'pkg'])).toBe('unknown option --bogus.');
    expect(message(['kargs', '--bogus=1'])).toBe('unknown option --bogus.');
    expect(message(['db', 'diff', '-Z'])).toBe('unknown option -Z.');
    expect(message(['status', '-vZ'])).toBe('unknown option -Z.');
    expect(message(['status', '-verbose'])).toBe('unknown option -verbose.');
    expect(message(['--bogus'])).toBe('unknown option --bogus.');
    expect(message(['admin', 'provision', '--sysroot', '/x', '--bogus', '--ref', 'a/b'])).toBe('unknown option --bogus.');
  });

  it('says which option needs a value, without swallowing the next option', () => {
    expect(message(['kargs', '--append'])).toBe('--append needs a value.');
    expect(message(['kargs', '--append', '--reboot'])).toBe('--append needs a value.');
    expect(message(['status', '--sysroot'])).toBe('--sysroot needs a value.');
    expect(message(['db', 'diff', '-F'])).toBe('-F needs a value.');
    expect(message(['admin', 'provision', '--ref', '--repo', 'r'])).toBe('--ref needs a value.');
    expect(message(['install', '--uninstall', '--', 'x'])).toBe('--uninstall needs a value.');
    expect(message(['status', '--json=yes'])).toBe('--json takes no value.');
  });

  it('names missing, extra and invalid arguments', () => {
    expect(message(['install'])).toBe('apt-ostree install needs at least one package.');
    expect(message(['rebase'])).toBe('apt-ostree rebase needs its <refspec> argument.');
    expect(message(['status', 'extra'])).toBe("unexpected argument 'extra' for apt-ostree status.");
    expect(message(['db', 'diff', '--format', 'x'])).toBe("--format must be one of block, diff, json, not 'x'.");
    expect(message(['bogus'])).toBe("unknown command 'bogus'.");
    expect(message(['compose', 'bogus'])).toBe("unknown command 'compose bogus'.");
  });

  it('suggests the option or command meant', () => {
    const hint = (args: string[]) => {
      try {
        parseCommandLine(args);
      } catch (e) {
        return (e as InputError).hint;
      }
    };
    expect(hint(['kargs', '--apend', 'x'])).toMatch(/^Did you mean --append\? Run `apt-ostree kargs --help`/);
    expect(hint(['status', '-verbose'])).toMatch(/^Did you mean --verbose\?/);
    expect(hint(['instal', 'htop'])).toMatch(/^Did you mean `apt-ostree install`\?/);
    expect(hint(['kargs', '--append'])).toBe("Give it as --append KEY=VALUE, or as --append=KEY=VALUE when the value starts with '-'.");
  });

  it('parses good command lines into the typed fields of the command\'s arguments', () => {
    const p = parseCommandLine(['--sysroot', '/s', 'kargs', '--append', 'a=1', '--append=b', '-r', '--no-verbose'])!;
    expect(p.path).toBe('kargs');
    expect(p.args).toMatchObject({ sysroot: '/s', append: ['a=1', 'b'], reboot: true, verbose: false, delete: [], editor: false, deployIndex: undefined });
    const i = parseCommandLine(['install', '-qn', 'htop', 'vim', '--', '--odd-name'])!;
    expect(i.args).toMatchObject({ packages: ['htop', 'vim', '--odd-name'], quiet: true, dryRun: true, uninstall: [], lockWait: undefined });
    const d = parseCommandLine(['db', 'diff', '-Fjson', 'a', 'b'])!;
    expect(d.path).toBe('db diff');
    expect(d.args).toMatchObject({ format: 'json', from: 'a', to: 'b' });
    expect(parseCommandLine(['db', 'diff'])!.args).toMatchObject({ format: 'block', from: undefined, to: undefined });
    expect(parseCommandLine(['--lock-wait=5', 'upgrade'])!.args.lockWait).toBe(5);
    expect(parseCommandLine(['kargs', '--append=-x'])!.args.append).toEqual(['-x']);
    // compose commit has a --version of its own: the command runs (unless help is asked for).
    expect(parseCommandLine(['compose', 'commit', 'r', '--repo', 'R', '--ref', 'a/b', '--version', '1.0'])!.args).toMatchObject({ rootfs: 'r', version: '1.0' });
    expect(parseCommandLine(['compose', 'commit', 'r', '--version', '1.0', '--help'])).toBeUndefined();
    expect(parseCommandLine(['status', '--version'])).toBeUndefined();
    // Help, --version and a group without its subcommand are yargs' to show.
    expect(parseCommandLine(['install', '--help'])).toBeUndefined();
    expect(parseCommandLine(['--version'])).toBeUndefined();
    expect(parseCommandLine(['compose'])).toBeUndefined();
    expect(parseCommandLine([])).toBeUndefined();
  });

  it('yargs\' messages read the same', () => {
    expect(usageError('Unknown arguments: bogus-option, bogusOption', ['status', '--bogus-option']).message).toBe('unknown option --bogus-option.');
    expect(usageError('Unknown argument: bogus', ['bogus']).message).toBe("unknown command 'bogus'.");
    expect(usageError('Not enough arguments following: append', ['kargs', '--append']).message).toBe('--append needs a value.');
    expect(usageError('Invalid values:\n  Argument: format, Given: "x", Choices: "block", "diff", "json"', []).message).toBe("--format must be one of block, diff, json, not 'x'.");
  });
});

describe('the sudo line of "must run as root"', () => {
  it('repeats every word, quoted for the shell where needed', () => {
    expect(sudoLine(['install', 'htop', '--sysroot', '/x'])).toBe('sudo apt-ostree install htop --sysroot /x');
    expect(sudoLine(['kargs', '--append', 'console=ttyS0,115200', '--sysroot', '/mnt/my disk'])).toBe("sudo apt-ostree kargs --append console=ttyS0,115200 --sysroot '/mnt/my disk'");
    expect(sudoLine(['install', "it's", '', 'a;rm -rf /', '$HOME', '`x`', '*'])).toBe(`sudo apt-ostree install 'it'\\''s' '' 'a;rm -rf /' '$HOME' '\`x\`' '*'`);
    expect(sudoLine(['kargs', '--append', 'a\nb\u001b'])).toBe("sudo apt-ostree kargs --append $'a\\nb\\x1b'");
    expect(shellQuote('héllo')).toBe("'héllo'");
  });

  it('reads back as the same words in a real shell', () => {
    const words = ['install', "it's", '', 'a b', '$HOME', '`x`', '*', 'tab\there', 'new\nline', 'esc\u001b[0m', 'back\\slash', '"q"'];
    const line = shellJoin(words);
    const out = execFileSync('bash', ['-c', `for w in ${line}; do printf '%s\\0' "$w"; done`]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });
});

describe('rootRequired: the "must run as root" error requireRoot throws', () => {
  it('names the command, whether given its name or the command line, and repeats the line with sudo', () => {
    const args = ['install', 'htop', '--sysroot', '/tmp/my sysroot'];
    expect(rootRequired('install', args)).toEqual({
      message: 'apt-ostree install changes the system and must run as root.',
      hint: "Run it with sudo: sudo apt-ostree install htop --sysroot '/tmp/my sysroot'",
    });
    expect(rootRequired('apt-ostree install htop --sysroot /tmp/my sysroot', args).message).toBe('apt-ostree install htop changes the system and must run as root.');
    expect(rootRequired('admin provision', ['admin', 'provision']).message).toBe('apt-ostree admin provision changes the system and must run as root.');
    expect(rootRequired('apt-ostree --sysroot /x kargs --append y', []).message).toBe('This command changes the system and must run as root.');
  });
});
