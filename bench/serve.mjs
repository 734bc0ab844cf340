// A static file server on 127.0.0.1 for the benchmarks (apt repositories); prints its URL.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const dir = process.argv[2];
const server = createServer((req, res) => {
  const file = join(dir, normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, ''));
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error();
    res.writeHead(200, { 'content-length': st.size });
    createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`));
process.on('SIGTERM', () => process.exit(0));
