import { sysrootStatus } from '../../engine/status.js';
import { openSysroot } from '../../engine/deployments/sysroot.js';
import { queryJsonPath } from '../render/jsonpath.js';
import { renderStatus } from '../render/status-text.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { STATUS } from '../specs/status.js';

export async function run(ctx: CommandContext<ArgsOf<typeof STATUS>>): Promise<number> {
  const { jsonpath } = ctx.args;
  const sysroot = openSysroot(ctx.sysroot);
  const status = sysrootStatus(sysroot);
  // rpm-ostree's pending deployment: the running system will boot another one next.
  const booted = sysroot.booted;
  const pending = booted !== undefined && sysroot.defaultDeployment(booted.osname) !== booted;
  if (ctx.os) {
    const os = sysroot.resolveOs(ctx.os);
    status.deployments = status.deployments.filter((d) => d.osname === os);
  }
  if (ctx.args.booted) status.deployments = status.deployments.filter((d) => d.booted);
  if (jsonpath) {
    process.stdout.write(JSON.stringify(queryJsonPath(status, jsonpath), null, 2) + '\n');
  } else if (ctx.args.json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
  } else {
    process.stdout.write(renderStatus(status, { sysroot: sysroot.path, verbose: ctx.verbose }));
  }
  return pending && ctx.args.pendingExit77 ? 77 : 0;
}
