// Types for the kiln integration's options.
import type { AstroIntegration } from 'astro';

export interface KilnOptions {
  /** Run `kiln bake OUTPUT_DIR` after `astro build`. Default `true`. */
  bake?: boolean;
  /** The kiln binary. Default `$KILN_BIN`, else `kiln` on PATH. */
  bin?: string;
  /** More arguments for `kiln bake`, before OUTPUT_DIR, e.g. `['--full']`. Default none. */
  args?: string[];
  /** A failed bake fails the build. Default `true`; `false` only warns. */
  strict?: boolean;
  /**
   * Where `kiln bake --fragments` writes, relative to the project root.
   * Default `'kiln-fragments'`; `false` never reads fragments.
   */
  fragments?: string | false;
}

export default function kiln(options?: KilnOptions): AstroIntegration;
