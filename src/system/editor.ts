/** The user's text editor, for `kargs --editor`. */
import { run } from './run.js';

/**
 * FILE edited in $VISUAL, then $EDITOR, then Debian's `editor` alternative, on the terminal.
 * The variable is split at spaces (for "vim -u NONE"), never handed to a shell.
 */
export async function editInEditor(file: string, signal: AbortSignal): Promise<void> {
  const spec = (process.env.VISUAL || process.env.EDITOR || 'editor').trim().split(/\s+/);
  await run(spec[0]!, [...spec.slice(1), file], {
    interactive: true,
    signal,
    what: `the editor (${spec[0]})`,
    hint: 'Set $EDITOR to an editor that exits 0 after saving; nothing was changed.',
  });
}
