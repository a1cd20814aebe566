// Published paths for links on list pages, in the site's own URL style: the
// same rule <KilnComments /> uses for thread ids, with the project's
// `build.format` and `trailingSlash` already applied. Only for code that Astro
// builds (pages, components), where the integration's config module exists.
import config from 'virtual:kiln-astro/config';
import { threadFor } from './thread.js';

/** `/blog/posts/a` as the build publishes it: `/blog/posts/a/` or `/blog/posts/a.html`. */
export function publishedPath(path) {
  return threadFor(path, config);
}
