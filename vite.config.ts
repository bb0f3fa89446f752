import { defineConfig, type Plugin } from 'vite';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, normalize } from 'node:path';

// The bundled default model and the evaluation texts live in ../shared next to the project (never copied into the
// repo). When that folder exists, the dev server serves it at /shared/ with Range support, so the page loads
// stories260K exactly as it would load a model from any static host.
const SHARED = fileURLToPath(new URL('../shared/', import.meta.url));

function serveShared(): Plugin {
  return {
    name: 'quantlab-serve-shared',
    configureServer(server) {
      server.middlewares.use('/shared', (req, res, next) => {
        const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
        const path = join(SHARED, rel);
        if (!existsSync(SHARED)) return next();
        // a missing file is a 404, as on any static host, not Vite's index.html fallback
        if (!path.startsWith(SHARED) || !existsSync(path) || !statSync(path).isFile()) {
          res.statusCode = 404;
          res.end('not found');
          return;
        }
        const size = statSync(path).size;
        const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
        res.setHeader('Accept-Ranges', 'bytes');
        res.setHeader('Cache-Control', 'no-cache');
        if (m) {
          const b = Number(m[1]);
          const e = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
          res.writeHead(206, { 'Content-Range': `bytes ${b}-${e}/${size}`, 'Content-Length': e - b + 1 });
          createReadStream(path, { start: b, end: e }).pipe(res);
        } else {
          res.writeHead(200, { 'Content-Length': size });
          createReadStream(path).pipe(res);
        }
      });
    },
  };
}

export default defineConfig({
  plugins: [serveShared()],
  worker: { format: 'es' },
  server: { port: 5173 },
  build: { target: 'es2022' },
});
