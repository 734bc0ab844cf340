/** What install and uninstall share: argument checks, the transaction, the summary. */
import { InputError } from '../../errors.js';
import { parsePackageArguments } from '../../debian/names.js';
import { changeDeployment, type DeploymentChangeResult, type OriginChange } from '../../engine/layering/change.js';
import { localName, requestName } from '../../engine/deployments/origin.js';
import { withLayerChange, type LayerChange } from '../../engine/layering/requests.js';
import { newDeploymentLine } from '../../engine/deployments/deploy.js';
import { renderDiffBlocks } from '../render/package-diff.js';
import { commandTitle, rebootIfAsked, refuseRefreshWithCacheOnly, transactionOptions, type CommandContext, type LockArgs, type RebootArgs } from '../context.js';

export interface LayerArgs {
  install: string[];
  uninstall: string[];
  uninstallAll?: boolean;
}

/** What install and uninstall share (--allow-inactive is install's only). */
type LayerChangeArgs = DeploymentChangeArgs & { readonly idempotent: boolean; readonly allowInactive?: boolean };

/**
 * What every change of a deployment's origin reads: install, uninstall, override and reset have
 * them all but uninstall --download-only; initramfs has only --unchanged-exit-77, --reboot and
 * --lock-wait (an option a command does not have is not given).
 */
type DeploymentChangeArgs = LockArgs & RebootArgs & {
  readonly unchangedExit77: boolean;
  readonly dryRun?: boolean;
  readonly cacheOnly?: boolean;
  readonly refresh?: boolean;
  readonly downloadOnly?: boolean;
};

export async function runLayerChange(ctx: CommandContext<LayerChangeArgs>, args: LayerArgs): Promise<number> {
  const { requests, localDebs } = parsePackageArguments(args.install);
  for (const name of args.uninstall) {
    const { requests: r, localDebs: l } = parsePackageArguments([name]);
    if (l.length || r[0]!.text !== r[0]!.name) {
      throw new InputError(`'${name}' is not a package name; uninstall takes the names of layered packages.`, 'See them with `apt-ostree status`.');
    }
  }
  const change: LayerChange = {
    install: requests.map((r) => r.text),
    uninstall: args.uninstall,
    installLocal: [],
    uninstallAll: args.uninstallAll,
    idempotent: ctx.args.idempotent,
    allowInactive: ctx.args.allowInactive === true,
  };
  const originChange: OriginChange = (origin, { base, locals }) => withLayerChange(origin, { ...change, installLocal: locals.map((l) => l.entry) }, base);
  return runDeploymentChange(ctx, originChange, localDebs);
}

/** Run a change of the deployment's origin as a transaction, print the summary, reboot if asked. */
export async function runDeploymentChange(ctx: CommandContext<DeploymentChangeArgs>, change: OriginChange, localDebs: string[] = []): Promise<number> {
  refuseRefreshWithCacheOnly(ctx.args);
  const result = await changeDeployment({
    ...transactionOptions(ctx, commandTitle(ctx)),
    change,
    localDebs,
    dryRun: ctx.args.dryRun === true,
    cacheOnly: ctx.args.cacheOnly === true,
    refreshLists: ctx.args.refresh === true,
    downloadOnly: ctx.args.downloadOnly === true,
    unchangedExit77: ctx.args.unchangedExit77,
  });
  ctx.reporter.end();
  process.stdout.write(renderSummary(result));
  if (!result.dryRun && !result.downloadOnly) await rebootIfAsked(ctx);
  return 0;
}

function renderSummary(r: DeploymentChangeResult): string {
  const out: string[] = [];
  const plan = r.build?.plan;
  if (r.dryRun) {
    if (plan?.install.length) out.push('Would install:', ...plan.install.map((p) => `  ${p.name} ${p.version}${p.oldVersion ? ` (upgrading ${p.oldVersion})` : ''}`));
    out.push(`Layered packages would be: ${layeredNames(r).join(' ') || '(none)'}`);
    out.push('Dry run: nothing was changed.');
    return out.join('\n') + '\n';
  }
  if (r.downloadOnly) {
    out.push(`Downloaded ${plan?.install.length ?? 0} package(s) into the cache; nothing else was changed.`);
    return out.join('\n') + '\n';
  }
  if (r.diff) out.push(renderDiffBlocks(r.diff).trimEnd());
  out.push(`Layered packages: ${layeredNames(r).join(' ') || '(none)'}`);
  if (r.origin.removedBasePackages.length) out.push(`Removed base packages: ${r.origin.removedBasePackages.join(' ')}`);
  const replaced = [...r.origin.replacedPackages, ...r.origin.replacedLocalPackages.map(localName)];
  if (replaced.length) out.push(`Replaced base packages: ${replaced.join(' ')}`);
  out.push(newDeploymentLine(r));
  // rpm-ostree's words: Ansible's rpm_ostree_pkg module reads them as needs_reboot.
  out.push('Changes queued for next boot. Run "systemctl reboot" to start a reboot');
  return out.filter(Boolean).join('\n') + '\n';
}

function layeredNames(r: DeploymentChangeResult): string[] {
  return [...r.origin.requestedPackages.map(requestName), ...r.origin.requestedLocalPackages.map(localName)];
}
