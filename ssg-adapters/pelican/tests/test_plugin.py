"""Unit tests for kiln's Pelican plugin, run against the installed plugin.

They pin what the end-to-end test (tests/suite/ssg_pelican.rs, which also runs
this file) cannot easily vary: every spelling of ``comments: false``,
escaping of hostile ids, percent-encoding, base paths, and how the bake
command line is put together. Run with the venv's Python:

    python -m unittest discover -s ssg-adapters/pelican/tests
"""

import hashlib
import json
import os
import tempfile
import unittest
from types import SimpleNamespace
from unittest import mock

from markupsafe import Markup

from pelican.plugins.kiln import bake, placeholders


def article(url="posts/hello.html", **metadata):
    return SimpleNamespace(url=url, metadata=metadata)


class ThreadIds(unittest.TestCase):
    def test_the_id_is_the_published_path(self):
        for siteurl, url, expected in [
            ("", "hello.html", "/hello.html"),
            ("", "hello/", "/hello/"),
            ("https://example.org", "hello/", "/hello/"),
            ("https://example.org/", "posts/hello.html", "/posts/hello.html"),
            ("https://example.org/blog", "hello/", "/blog/hello/"),
            ("https://example.org/a/b/", "hello.html", "/a/b/hello.html"),
            ("/blog", "hello/", "/blog/hello/"),
        ]:
            with self.subTest(siteurl=siteurl, url=url):
                got = placeholders.thread_id(article(url), {"SITEURL": siteurl})
                self.assertEqual(got, expected)

    def test_kiln_base_path_overrides_siteurl(self):
        settings = {"SITEURL": "", "KILN_BASE_PATH": "/blog/"}
        self.assertEqual(placeholders.thread_id(article("x/"), settings), "/blog/x/")
        settings = {"SITEURL": "https://example.org/blog", "KILN_BASE_PATH": ""}
        self.assertEqual(placeholders.thread_id(article("x/"), settings), "/x/")

    def test_paths_are_encoded_as_a_browser_shows_them(self):
        got = placeholders.thread_id(article("caf\u00e9 au lait/"), {"SITEURL": ""})
        self.assertEqual(got, "/caf%C3%A9%20au%20lait/")
        # Already encoded stays as it is.
        got = placeholders.thread_id(article("caf%C3%A9/"), {"SITEURL": ""})
        self.assertEqual(got, "/caf%C3%A9/")

    def test_metadata_can_name_the_thread(self):
        page = article("new-url/", kiln_thread="/old-url.html")
        self.assertEqual(placeholders.thread_id(page, {"SITEURL": ""}), "/old-url.html")

    def test_comments_false_means_no_thread(self):
        for value in ["false", "False", " no ", "off", "0", False]:
            with self.subTest(value=value):
                page = article(comments=value)
                self.assertIsNone(placeholders.thread_id(page, {}))
                self.assertEqual(placeholders.comments(page, {}), Markup(""))
                self.assertEqual(placeholders.count(page, {}), Markup(""))
        for value in ["true", "yes", True]:
            with self.subTest(value=value):
                self.assertIsNotNone(placeholders.thread_id(article(comments=value), {}))

    def test_no_content_no_thread(self):
        self.assertIsNone(placeholders.thread_id(None, {}))


class Placeholders(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.settings = {"SITEURL": "", "KILN_DIR": self.tmp.name}

    def test_ids_are_escaped_in_attributes(self):
        page = article(kiln_thread='"><script>alert(1)</script>')
        html = placeholders.comments(page, self.settings)
        self.assertIsInstance(html, Markup)
        self.assertIn('data-kiln-thread="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"', html)
        self.assertNotIn("<script>", html)
        count = placeholders.count(page, self.settings)
        self.assertNotIn("<script>", count)

    def test_unbaked_placeholders(self):
        html = placeholders.comments(article("a/"), self.settings)
        self.assertTrue(html.startswith('<section class="kiln-comments" data-kiln-thread="/a/">'))
        self.assertIn(placeholders.UNBAKED_THREAD, html)
        self.assertEqual(
            placeholders.count(article("a/"), self.settings),
            '<span class="kiln-count" data-kiln-count="/a/">Comments</span>',
        )

    def test_an_absolute_siteurl_gives_the_page_url(self):
        settings = dict(self.settings, SITEURL="https://example.org/blog/")
        html = placeholders.comments(article("a/"), settings)
        self.assertIn('data-kiln-thread="/blog/a/"', html)
        self.assertIn('data-kiln-url="https://example.org/blog/a/"', html)
        self.assertNotIn("data-kiln-url", placeholders.comments(article("a/"), self.settings))

    def test_fragments_are_included(self):
        fragments = os.path.join(self.tmp.name, "kiln-fragments")
        os.mkdir(fragments)
        name = hashlib.sha256(b"/a/").hexdigest() + ".html"
        self.assertEqual(placeholders.fragment_name("/a/"), name)
        with open(os.path.join(fragments, name), "w", encoding="utf-8") as f:
            f.write('<div class="kiln-thread">two</div>')
        with open(os.path.join(fragments, "counts.json"), "w", encoding="utf-8") as f:
            json.dump({"/a/": 2, "/b/": 1}, f)
        html = placeholders.comments(article("a/"), self.settings)
        self.assertIn('<div class="kiln-thread">two</div>', html)
        self.assertNotIn(placeholders.UNBAKED_THREAD, html)
        for url, words in [("a/", "2 comments"), ("b/", "1 comment"), ("c/", "No comments yet")]:
            with self.subTest(url=url):
                self.assertIn(f">{words}</span>", placeholders.count(article(url), self.settings))

    def test_the_fragments_directory_is_a_setting(self):
        settings = dict(self.settings, KILN_FRAGMENTS="elsewhere")
        self.assertEqual(
            placeholders.fragments_dir(settings), os.path.join(self.tmp.name, "elsewhere")
        )
        self.assertEqual(
            placeholders.fragments_dir({"KILN_FRAGMENTS": "/abs"}), "/abs"
        )


class BakeCommand(unittest.TestCase):
    def test_binary_environment_then_setting_then_path(self):
        with mock.patch.dict(os.environ, {"KILN_BIN": "/env/kiln"}):
            self.assertEqual(bake.kiln_binary({"KILN_BIN": "/set/kiln"}), "/env/kiln")
        with mock.patch.dict(os.environ, {}, clear=True):
            self.assertEqual(bake.kiln_binary({"KILN_BIN": "/set/kiln"}), "/set/kiln")
            self.assertEqual(bake.kiln_binary({}), "kiln")

    def test_arguments(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            self.assertEqual(
                bake.bake_command({"KILN_ARGS": ["--quiet", "--full"]}, "/site/output"),
                ["kiln", "bake", "--quiet", "--full", "/site/output"],
            )
            self.assertEqual(
                bake.bake_command({"KILN_ARGS": "--from 'my comments.json'"}, "out"),
                ["kiln", "bake", "--from", "my comments.json", "out"],
            )

    def test_a_failed_bake_fails_the_build_unless_not_strict(self):
        with tempfile.TemporaryDirectory() as tmp:
            failing = SimpleNamespace(
                settings={"KILN_BIN": "false", "KILN_DIR": tmp}, output_path=tmp
            )
            with mock.patch.dict(os.environ, {}, clear=False):
                os.environ.pop("KILN_BIN", None)
                with self.assertRaises(bake.KilnBakeError):
                    bake.on_finalized(failing)
                failing.settings["KILN_STRICT"] = False
                with self.assertLogs("pelican.plugins.kiln.bake", "WARNING"):
                    bake.on_finalized(failing)
                failing.settings["KILN_BIN"] = os.path.join(tmp, "missing")
                failing.settings["KILN_STRICT"] = True
                with self.assertRaisesRegex(bake.KilnBakeError, "cannot run"):
                    bake.on_finalized(failing)
                failing.settings["KILN_BAKE"] = False
                bake.on_finalized(failing)  # off: nothing runs, nothing fails


if __name__ == "__main__":
    unittest.main()
