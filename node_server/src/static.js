// Static files with no path traversal: the decoded path is resolved under the root and must
// stay inside it; dot-files, NUL bytes and backslashes are refused. Served with ETags and
// brotli/gzip (see serveStatic).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

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

// Files are read into memory once per version (keyed by inode, size and mtime) with a strong
// ETag from a hash of their bytes, and each compressed form is made once, on first demand, and
// kept: compressing per request would cost far more than the transfer it saves (brotli at its
// best quality takes about 0.4 s for the 200 KB .wasm). `Cache-Control: no-cache` keeps every
// load correct after a rebuild, while the ETag turns the repeat download into a 304.
const COMPRESSIBLE = new Set(['.html', '.htm', '.js', '.mjs', '.cjs', '.css', '.json', '.map', '.wasm', '.svg',
  '.txt', '.md', '.ts', '.ico']);
// Larger files are streamed as they are (no ETag, no compression) so a stray big file in a
// served folder cannot fill the memory.
export const MAX_CACHED_FILE = 16 * 1024 * 1024;
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
const cache = new Map(); // real path -> entry; Map order doubles as least-recently-used order
let cacheBytes = 0;
/** How often files were read and compressed: the tests check it stays once per file version. */
export const staticStats = { reads: 0, compressions: 0 };

function cacheGet(file, st) {
  const e = cache.get(file);
  if (!e) return null;
  if (e.ino !== st.ino || e.size !== st.size || e.mtimeMs !== st.mtimeMs) {
    cacheDelete(file);
    return null;
  }
  cache.delete(file);
  cache.set(file, e);
  return e;
}

function cacheDelete(file) {
  const e = cache.get(file);
  if (!e) return;
  cache.delete(file);
  cacheBytes -= e.bytes;
}

function cacheAdd(file, e) {
  cacheDelete(file);
  cache.set(file, e);
  cacheBytes += e.bytes;
  cacheTrim(file);
}

/** Drop the least recently used entries (never `keep`) until the cache fits. */
function cacheTrim(keep) {
  for (const [k] of cache) {
    if (cacheBytes <= MAX_CACHE_BYTES) break;
    if (k !== keep) cacheDelete(k);
  }
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

const compressors = {
  br: (buf) => brotli(buf, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  }),
  gzip: (buf) => gzip(buf, { level: zlib.constants.Z_BEST_COMPRESSION }),
};

/** The compressed body for `coding`, or null when it would not be smaller; made once per entry. */
function encoded(entry, coding) {
  if (!entry.encoded[coding]) {
    staticStats.compressions++;
    entry.encoded[coding] = compressors[coding](entry.body).then(
      (buf) => {
        if (buf.length >= entry.body.length) return null;
        entry.bytes += buf.length;
        if (cache.get(entry.file) === entry) {
          cacheBytes += buf.length;
          cacheTrim(entry.file);
        }
        return buf;
      },
      () => null,
    );
  }
  return entry.encoded[coding];
}

/**
 * The content codings acceptable per `Accept-Encoding`, best first: brotli before gzip at equal
 * weight; `q=0` refuses one, `*` stands for the ones not named.
 */
export function acceptedCodings(header) {
  if (typeof header !== 'string' || header.trim() === '') return [];
  const q = new Map();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, Number.isFinite(weight) ? weight : 0);
  }
  const weightOf = (c) => q.get(c) ?? q.get('*') ?? 0;
  return ['br', 'gzip'].filter((c) => weightOf(c) > 0).sort((a, b) => weightOf(b) - weightOf(a));
}

/** True when `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header). */
function etagMatches(header, etag) {
  if (typeof header !== 'string') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

async function loadEntry(file) {
  const fh = await fs.promises.open(file, 'r');
  try {
    // Stat through the open file so the key describes the bytes read.
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const hit = cacheGet(file, st);
    if (hit) return hit;
    if (st.size > MAX_CACHED_FILE) return { file, size: st.size, body: null };
    const body = await fh.readFile();
    staticStats.reads++;
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
    const entry = {
      file, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, body, bytes: body.length, hash, encoded: {},
    };
    cacheAdd(file, entry);
    return entry;
  } finally {
    await fh.close();
  }
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
  const ext = path.extname(file).toLowerCase();
  const type = CONTENT_TYPES[ext] ?? 'application/octet-stream';
  const entry = await loadEntry(real).catch(() => null);
  if (!entry) return sendText(res, 404, 'not found');
  const headers = { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
  if (entry.body === null) return streamFile(req, res, real, headers, entry.size);

  let body = entry.body;
  let coding = null;
  if (COMPRESSIBLE.has(ext)) {
    headers.Vary = 'Accept-Encoding';
    for (const c of acceptedCodings(req.headers['accept-encoding'])) {
      const buf = await encoded(entry, c);
      if (buf) {
        body = buf;
        coding = c;
        break;
      }
    }
  }
  // One strong validator per representation: the compressed bytes differ from the plain ones.
  headers.ETag = `"${entry.hash}${coding ? `-${coding}` : ''}"`;
  if (etagMatches(req.headers['if-none-match'], headers.ETag)) {
    delete headers['Content-Type'];
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  if (coding) headers['Content-Encoding'] = coding;
  headers['Content-Length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return 200;
}

async function streamFile(req, res, file, headers, size) {
  res.writeHead(200, { ...headers, 'Content-Length': size });
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
