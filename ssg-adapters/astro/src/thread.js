// Thread ids and fragment files, shared by the components and the
// integration. kiln's contract: a page's thread id is its published URL path
// (base included), exactly as `location.pathname` shows it, and a fragment
// for thread ID lives at `<fragments dir>/<sha256 hex of ID>.html`.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The name of the fragment file `kiln bake --fragments` writes for `thread`.
 * The id is hashed so that it is never used as a path on disk.
 */
export function fragmentName(thread) {
  return `${createHash('sha256').update(thread, 'utf8').digest('hex')}.html`;
}

/**
 * The published form of the path `pathname` on a site built with Astro's
 * `build.format` and `base`: the thread id of the page served there.
 *
 * A build already gives `Astro.url.pathname` almost in this form
 * (`/posts/a/` for `'directory'`, `/posts/a.html` for `'file'`); `astro dev`
 * gives whatever the browser asked for (`/posts/a`). Both become the path of
 * the file the build writes, so a page keeps one id in dev and in production:
 *
 * - `'directory'`: `/posts/a/` (the trailing slash whatever `trailingSlash`
 *   says: the page is `posts/a/index.html`);
 * - `'file'`: `/posts/a.html`;
 * - the home page: `/`, or `base` with a trailing slash (`/blog/`);
 * - a path whose last segment has a dot (`/feed.xml`) is left alone, and so is
 *   every path under `'preserve'`, where the path does not tell which file it is.
 */
export function threadFor(pathname, { format = 'directory', base = '/' } = {}) {
  let path = String(pathname).split(/[?#]/, 1)[0] || '/';
  if (!path.startsWith('/')) path = `/${path}`;
  const home = `${String(base).replace(/\/+$/, '')}/`;
  if (path === home || `${path}/` === home) return home;
  if (format === 'preserve') return path;
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (format === 'file') {
    if (last.endsWith('.html')) return path;
    return `${path.replace(/\/+$/, '')}.html`;
  }
  if (last.includes('.')) return path;
  return path.endsWith('/') ? path : `${path}/`;
}

/**
 * What `kiln bake --fragments` wrote for `thread` in `dir`, or `undefined`
 * when there is no such file yet.
 */
export function readFragment(dir, thread) {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, fragmentName(thread)), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The approved-comment count for `thread` from `<dir>/counts.json`: 0 for a
 * thread it does not list, `undefined` when fragments were never baked.
 */
export function readCount(dir, thread) {
  if (!dir) return undefined;
  let text;
  try {
    text = readFileSync(join(dir, 'counts.json'), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  const count = JSON.parse(text)[thread] ?? 0;
  return Number.isInteger(count) ? count : undefined;
}

/** A count in the words of kiln's built-in count template. */
export function countWords(count) {
  if (count === 0) return 'No comments yet';
  if (count === 1) return '1 comment';
  return `${count} comments`;
}
