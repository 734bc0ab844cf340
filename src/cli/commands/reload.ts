/**
 * `reload`: rpm-ostree's command to make its daemon re-read its configuration. apt-ostree has
 * no daemon (every command reads the file when it starts), so here it checks the file of the
 * target deployment and prints the settings in effect. Read-only; exit 1 when the file is invalid.
 */
import { CONFIG_SCHEMA, formatValue } from '../../config/config.js';
import { loadConfig } from '../../engine/deployments/settings.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { RELOAD } from '../specs/reload.js';

export async function run(ctx: CommandContext<ArgsOf<typeof RELOAD>>): Promise<number> {
  const loaded = loadConfig(ctx.sysroot, undefined, ctx.os);
  for (const w of loaded.warnings) ctx.reporter.warn(w);
  if (ctx.args.json) {
    const json = {
      file: loaded.path ?? null,
      exists: loaded.exists,
      valid: true,
      warnings: loaded.warnings,
      explicit: loaded.explicit,
      settings: loaded.config,
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  const source = !loaded.path
    ? `# The sysroot ${ctx.sysroot} has no deployment yet: every setting has its default.`
    : loaded.exists
      ? `# ${loaded.path}: valid${loaded.warnings.length ? ` (${loaded.warnings.length} warning${loaded.warnings.length > 1 ? 's' : ''})` : ''}; settings not in the file have their defaults.`
      : `# ${loaded.path} does not exist: every setting has its default.`;
  const out = [source];
  const settings = loaded.config as unknown as Record<string, Record<string, string | number | boolean>>;
  for (const g of CONFIG_SCHEMA) {
    out.push(`[${g.group}]`);
    for (const k of g.keys) {
      const explicit = loaded.explicit.includes(`${g.group}.${k.key}`);
      out.push(`${k.key}=${formatValue(settings[g.group]![k.key]!)}${explicit ? '' : '  (default)'}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
