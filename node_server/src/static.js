// Static files with no path traversal: the decoded path is resolved under the root and must
// stay inside it; dot-files, NUL bytes and backslashes are refused.
import fs from 'node:fs';
import path from 'node:path';

export const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Resolve `urlPath` (the part after the mount point, still percent-encoded) under `root`.
 * Returns an absolute file path, or null when the path is not acceptable.
 */
export function resolveStatic(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p.startsWith('.'))) return null;
  const rootAbs = path.resolve(root);
  const file = path.resolve(rootAbs, ...parts);
  if (file !== rootAbs && !file.startsWith(rootAbs + path.sep)) return null;
  return file;
}

/** Serve `urlPath` from `root`; returns the status written. */
export async function serveStatic(req, res, root, urlPath) {
  let file = resolveStatic(root, urlPath);
  if (!file) return sendText(res, 404, 'not found');
  let st;
  try {
    st = await fs.promises.stat(file);
    if (st.isDirectory()) {
      file = path.join(file, 'index.html');
      st = await fs.promises.stat(file);
    }
  } catch {
    return sendText(res, 404, 'not found');
  }
  if (!st.isFile()) return sendText(res, 404, 'not found');
  // Symlinks must not lead out of the root either.
  const real = await fs.promises.realpath(file).catch(() => null);
  const realRoot = await fs.promises.realpath(root).catch(() => null);
  if (!real || !realRoot || (real !== realRoot && !real.startsWith(realRoot + path.sep))) {
    return sendText(res, 404, 'not found');
  }
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': st.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return 200;
  }
  await new Promise((resolve) => {
    const stream = fs.createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', resolve);
    stream.pipe(res);
  });
  return 200;
}

function sendText(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
  return status;
}
