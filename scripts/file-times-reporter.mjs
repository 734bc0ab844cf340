// A vitest reporter that writes each test file's start and duration, its hooks included, to the
// file named by `--outputFile.json` (or `outputFile: { json }` in a config): the report that
// scripts/test-times.mjs prints at the end of .ci/run. vitest's own JSON reporter spans a file
// from its first test's start to its last test's end, which leaves out beforeAll and afterAll:
// most of a boot file's time (a VM set-up) and of many integration files' (a sysroot built once).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/**
 * @typedef {{ filepath: string, result?: { state?: string, startTime?: number, duration?: number } }} FileTask
 * @typedef {{ config: { root: string, outputFile?: string | Record<string, string> } }} VitestContext
 */

export default class FileTimesReporter {
  /** @type {VitestContext | undefined} */
  ctx;

  /** @param {VitestContext} ctx */
  onInit(ctx) {
    this.ctx = ctx;
  }

  /** @param {FileTask[]} files */
  onFinished(files = []) {
    const config = this.ctx?.config;
    const output = typeof config?.outputFile === 'string' ? config.outputFile : config?.outputFile?.json;
    if (!config || !output) return;
    const entries = files.map((f) => ({
      file: relative(config.root, f.filepath),
      // Seconds since the epoch; a file that never ran (a failed collection) spans nothing.
      start: (f.result?.startTime ?? 0) / 1000,
      seconds: (f.result?.duration ?? 0) / 1000,
      status: f.result?.state === 'pass' ? 'passed' : (f.result?.state ?? 'not run'),
    }));
    const path = resolve(config.root, output);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ files: entries }, null, 1)}\n`);
  }
}
