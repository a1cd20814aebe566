"""The template side of kiln's Pelican plugin: thread ids and placeholders.

kiln bake fills every element carrying ``data-kiln-thread`` or
``data-kiln-count`` in the built site. These functions write those elements
for an article or page, with the thread id every kiln adapter agrees on: the
page's published URL path (the path of ``SITEURL``, then ``/``, then
``article.url``), or the ``kiln_thread`` metadata when a page sets one.

Under a dev setup where nothing is baked, ``kiln bake --fragments DIR`` writes
each thread to ``DIR/<sha256 of the id>.html`` and the counts to
``DIR/counts.json``; a placeholder includes what it finds there.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

#: Metadata values that switch a page's comments off (``comments: false``).
OFF_VALUES = frozenset({"false", "no", "off", "0"})

#: Characters kept as they are when a thread id is percent-encoded. These are
#: the ones a browser leaves alone in ``location.pathname`` (and ``%``, so an
#: already-encoded URL is not encoded twice), matching what ``kiln bake``
#: works out for an empty ``data-kiln-thread``.
PATH_SAFE = "/!$%&'()*+,:;=@[]^|~"

#: What a thread placeholder holds before anything is baked into it.
UNBAKED_THREAD = (
    '<p class="kiln-placeholder">'
    "Comments appear here once the site is baked with kiln.</p>"
)
#: What a count placeholder holds before anything is baked into it.
UNBAKED_COUNT = "Comments"


def comments_enabled(content: Any) -> bool:
    """False when the page's metadata says ``comments: false`` (or no/off/0)."""
    value = _metadata(content).get("comments")
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in OFF_VALUES


def base_path(settings: Mapping[str, Any]) -> str:
    """The path the site lives under, without a trailing slash ("" at the root).

    ``KILN_BASE_PATH`` when set, else the path of ``SITEURL``:
    ``https://example.org/blog/`` gives ``/blog``; an empty or relative
    ``SITEURL`` gives "".
    """
    configured = settings.get("KILN_BASE_PATH")
    path = configured if configured is not None else urlsplit(settings.get("SITEURL") or "").path
    path = str(path).strip().strip("/")
    return f"/{path}" if path else ""


def thread_id(content: Any, settings: Mapping[str, Any]) -> str | None:
    """The kiln thread id of an article or page, or None when it takes no comments."""
    if content is None or not comments_enabled(content):
        return None
    explicit = _metadata(content).get("kiln_thread")
    if explicit is not None and str(explicit).strip():
        return str(explicit).strip()
    url = str(content.url).lstrip("/")
    return quote(f"{base_path(settings)}/{url}", safe=PATH_SAFE)


def page_url(content: Any, settings: Mapping[str, Any]) -> str | None:
    """The page's public URL when ``SITEURL`` is absolute, else None.

    It goes into ``data-kiln-url`` so that the reply form returns readers to
    the URL Pelican links to, even where ``ARTICLE_URL`` and
    ``ARTICLE_SAVE_AS`` do not mirror each other. Without it, kiln bake
    works the URL out from the file's place in the output.
    """
    site = str(settings.get("SITEURL") or "").rstrip("/")
    if urlsplit(site).scheme not in ("http", "https"):
        return None
    return f"{site}/{str(content.url).lstrip('/')}"


def fragments_dir(settings: Mapping[str, Any]) -> str:
    """Where ``kiln bake --fragments`` writes, relative paths from ``KILN_DIR``."""
    directory = settings.get("KILN_FRAGMENTS") or "kiln-fragments"
    return os.path.join(site_dir(settings), os.path.expanduser(str(directory)))


def site_dir(settings: Mapping[str, Any]) -> str:
    """The directory kiln bake runs in: ``KILN_DIR``, else where Pelican runs."""
    return os.path.abspath(os.path.expanduser(str(settings.get("KILN_DIR") or os.getcwd())))


def fragment_name(thread: str) -> str:
    """The fragment file of a thread: the SHA-256 of its id, lowercase hex, + .html."""
    return hashlib.sha256(thread.encode("utf-8")).hexdigest() + ".html"


def count_words(count: int) -> str:
    """A count in the words of kiln's built-in ``count.html``."""
    if count == 0:
        return "No comments yet"
    if count == 1:
        return "1 comment"
    return f"{count} comments"


def comments(content: Any, settings: Mapping[str, Any]) -> Markup:
    """The thread placeholder: ``<section data-kiln-thread="ID">``, or nothing."""
    thread = thread_id(content, settings)
    if thread is None:
        return Markup("")
    attributes = f' data-kiln-thread="{escape(thread)}"'
    url = page_url(content, settings)
    if url is not None:
        attributes += f' data-kiln-url="{escape(url)}"'
    inner = _read_fragment(os.path.join(fragments_dir(settings), fragment_name(thread)))
    body = Markup(inner) if inner is not None else Markup(UNBAKED_THREAD)
    return Markup(f'<section class="kiln-comments"{attributes}>\n{body}\n</section>')


def count(content: Any, settings: Mapping[str, Any]) -> Markup:
    """The count placeholder: ``<span data-kiln-count="ID">``, or nothing."""
    thread = thread_id(content, settings)
    if thread is None:
        return Markup("")
    counts = _read_counts(os.path.join(fragments_dir(settings), "counts.json"))
    text = UNBAKED_COUNT if counts is None else count_words(int(counts.get(thread, 0)))
    return Markup(f'<span class="kiln-count" data-kiln-count="{escape(thread)}">{escape(text)}</span>')


def _metadata(content: Any) -> Mapping[str, Any]:
    metadata = getattr(content, "metadata", None)
    return metadata if isinstance(metadata, Mapping) else {}


def _read_fragment(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


# counts.json is read once per build, not once per list entry: it is keyed by
# its modification time, so a fresh bake --fragments is seen on the next build.
_counts_cache: dict[str, tuple[int, dict[str, int]]] = {}


def _read_counts(path: str) -> Mapping[str, int] | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None
    cached = _counts_cache.get(path)
    if cached is None or cached[0] != mtime:
        with open(path, encoding="utf-8") as f:
            cached = (mtime, json.load(f))
        _counts_cache[path] = cached
    return cached[1]
