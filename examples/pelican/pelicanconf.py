"""Settings for kiln's example Pelican site, used by its end-to-end tests.

The site uses Pelican's default theme, notmyidea, untouched: the three small
templates in theme-overrides/ put kiln's placeholders into it. No PLUGINS
setting is needed, because the kiln plugin (pip install ./ssg-adapters/pelican)
sits in the pelican.plugins namespace, which Pelican searches by itself.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

AUTHOR = "Kiln"
SITENAME = "Kiln Example"
# Empty for local builds: links are root-relative and kiln's thread ids are
# "/hello-world.html" and so on. A site published under a path sets it, e.g.
# SITEURL = "https://example.org/blog", and the ids become "/blog/...".
SITEURL = ""

PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"

# Pelican's default URL style: articles at {slug}.html, pages at
# pages/{slug}.html. kiln's tests also build {slug}/index.html.
ARTICLE_URL = "{slug}.html"
ARTICLE_SAVE_AS = "{slug}.html"

# article.html, page.html and comments.html here take precedence over the
# theme's own; they extend the theme's templates rather than copy them.
THEME_TEMPLATES_OVERRIDES = [os.path.join(HERE, "theme-overrides")]

# No feeds: nothing here reads them, and they would only add output to check.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

DEFAULT_PAGINATION = False
# No images or other static files (Pelican's default would look for
# content/images and warn that it is missing).
STATIC_PATHS = []

# kiln's plugin settings, at their defaults (see ssg-adapters/pelican/README.md):
# KILN_BAKE = True            # run `kiln bake OUTPUT_PATH` after every build
# KILN_STRICT = True          # a failed bake fails the build
# KILN_ARGS = []              # extra `kiln bake` arguments, e.g. ["--quiet"]
# KILN_DIR = None             # where kiln bake runs and finds kiln.toml (cwd)
# KILN_FRAGMENTS = "kiln-fragments"   # where `kiln bake --fragments` writes
