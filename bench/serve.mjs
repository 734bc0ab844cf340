// A static file server on 127.0.0.1 for the benchmarks (apt and OSTree repositories); prints its
// URL. With --log, it then prints one line per file served, "BYTES PATH", so that a benchmark
// counts what a client downloaded as the server saw it.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const dir = process.argv[2];
const log = process.argv.includes('--log');
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
  const file = join(dir, path);
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error();
    res.writeHead(200, { 'content-length': st.size });
    createReadStream(file).pipe(res);
    if (log) res.on('finish', () => process.stdout.write(`${st.size} ${path}\n`));
  } catch {
    res.writeHead(404).end();
  }
});
// Listening on a TCP port: address() is an AddressInfo.
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}/`));
process.on('SIGTERM', () => process.exit(0));
