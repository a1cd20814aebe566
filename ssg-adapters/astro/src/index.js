// The kiln integration for Astro. After `astro build` it runs
// `kiln bake OUTPUT_DIR` in the project root, so the comments are in the
// pages before they are deployed, and it hands the project's URL settings and
// fragments directory to <KilnComments /> and <KilnCount />. Under
// `astro dev` (which writes no pages to bake) it reloads the browser when
// `kiln bake --fragments` rewrites a fragment.

import { spawn } from 'node:child_process';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VIRTUAL_CONFIG = 'virtual:kiln-astro/config';
const RESOLVED_CONFIG = `\0${VIRTUAL_CONFIG}`;

const OPTIONS = ['bake', 'bin', 'args', 'strict', 'fragments'];

/** @param {import('./index.d.ts').KilnOptions} [options] */
export default function kiln(options = {}) {
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      throw new TypeError(`kiln-astro: unknown option \`${key}\`; the options are ${OPTIONS.join(', ')}`);
    }
  }
  const settings = {
    bake: options.bake ?? true,
    bin: options.bin,
    args: options.args ?? [],
    strict: options.strict ?? true,
    fragments: options.fragments ?? 'kiln-fragments',
  };
  if (!Array.isArray(settings.args) || settings.args.some((a) => typeof a !== 'string')) {
    throw new TypeError('kiln-astro: `args` must be an array of strings');
  }
  if (settings.fragments !== false && typeof settings.fragments !== 'string') {
    throw new TypeError('kiln-astro: `fragments` must be a folder name or false');
  }
  // What the components need, filled in once Astro's config is final.
  const shared = { format: 'directory', base: '/', fragmentsDir: null };
  let root = process.cwd();

  return {
    name: 'kiln-astro',
    hooks: {
      'astro:config:setup': ({ updateConfig }) => {
        updateConfig({ vite: { plugins: [configModule(shared)] } });
      },

      'astro:config:done': ({ config }) => {
        root = fileURLToPath(config.root);
        shared.format = config.build.format;
        shared.base = config.base;
        shared.fragmentsDir = settings.fragments ? resolve(root, settings.fragments) : null;
      },

      'astro:server:setup': ({ server, logger }) => {
        const dir = shared.fragmentsDir;
        if (!dir) return;
        server.watcher.add(dir);
        // One bake rewrites a fragment and counts.json together: wait a
        // moment so the browser reloads once, with both in place.
        const changed = new Set();
        let timer;
        const reload = (file) => {
          const rel = relative(dir, file);
          if (!rel || rel.startsWith('..') || isAbsolute(rel)) return;
          changed.add(rel);
          clearTimeout(timer);
          timer = setTimeout(() => {
            logger.info(`comments changed (${changed.size} file(s) in ${relative(root, dir) || dir}), reloading`);
            changed.clear();
            server.ws.send({ type: 'full-reload', path: '*' });
          }, 100);
        };
        server.watcher.on('add', reload);
        server.watcher.on('change', reload);
        server.watcher.on('unlink', reload);
      },

      'astro:build:done': async ({ dir, logger }) => {
        if (!settings.bake) {
          logger.info('bake is off; run `kiln bake` on the output yourself');
          return;
        }
        const bin = settings.bin ?? process.env.KILN_BIN ?? 'kiln';
        const args = ['bake', ...settings.args, fileURLToPath(dir)];
        try {
          await run(bin, args, root, logger);
        } catch (err) {
          const message = `kiln bake failed: ${err.message}`;
          if (settings.strict) {
            throw new Error(`${message}\n(pass \`strict: false\` to kiln() to build without comments instead)`, {
              cause: err,
            });
          }
          logger.warn(`${message}; the pages were built without comments`);
        }
      },
    },
  };
}

/** A Vite plugin serving `virtual:kiln-astro/config` to the components. */
function configModule(shared) {
  return {
    name: 'kiln-astro:config',
    resolveId(id) {
      return id === VIRTUAL_CONFIG ? RESOLVED_CONFIG : undefined;
    },
    load(id) {
      return id === RESOLVED_CONFIG ? `export default ${JSON.stringify(shared)};` : undefined;
    },
  };
}

/** Runs `bin args` in `cwd`, passing its output to Astro's logger line by line. */
function run(bin, args, cwd, logger) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const errors = [];
    forEachLine(child.stdout, (line) => logger.info(line));
    forEachLine(child.stderr, (line) => {
      errors.push(line);
      logger.warn(line);
    });
    child.on('error', (err) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(`\`${bin}\` was not found; install kiln, put it on PATH or set KILN_BIN`)
          : err,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const last = errors.at(-1);
        reject(new Error(last ? `${last} (${why})` : why));
      }
    });
  });
}

function forEachLine(stream, onLine) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream.on('end', () => {
    if (rest.trim()) onLine(rest);
  });
}
