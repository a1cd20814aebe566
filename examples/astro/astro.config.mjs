// A small hand-written Astro site with kiln comments. The kiln integration
// runs `kiln bake dist/` after every `astro build` (with kiln.toml in this
// folder, if any) and lets `astro dev` show fragments from kiln-fragments/.
import { defineConfig } from 'astro/config';
import kiln from 'kiln-astro';

export default defineConfig({
  // Only for absolute URLs Astro writes; kiln takes the public address of the
  // site from `[bake] site_url` in kiln.toml (or `kiln bake --site-url`).
  site: 'http://127.0.0.1:4321',
  integrations: [kiln()],
});
