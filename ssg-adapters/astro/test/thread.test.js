// The thread-id rules of thread.js, one case per URL style, including the
// paths `astro dev` hands over that a build never does (no trailing slash, no
// .html). The real builds are checked by kiln's tests/suite/ssg_astro.rs.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { countWords, fragmentName, readCount, readFragment, threadFor } from '../src/thread.js';

test("'directory' pages end in a slash", () => {
  for (const path of ['/posts/a', '/posts/a/', '/posts/a?page=2', '/posts/a#kiln-received']) {
    assert.equal(threadFor(path), '/posts/a/', path);
  }
  assert.equal(threadFor('/'), '/');
  assert.equal(threadFor('/feed.xml'), '/feed.xml');
});

test("'file' pages end in .html", () => {
  const file = { format: 'file' };
  for (const path of ['/posts/a', '/posts/a/', '/posts/a.html']) {
    assert.equal(threadFor(path, file), '/posts/a.html', path);
  }
  assert.equal(threadFor('/', file), '/');
});

test('the home page under a base is the base with a slash', () => {
  for (const format of ['directory', 'file', 'preserve']) {
    for (const base of ['/blog', '/blog/']) {
      for (const path of ['/blog', '/blog/']) {
        assert.equal(threadFor(path, { format, base }), '/blog/', `${format} ${base} ${path}`);
      }
    }
  }
  assert.equal(threadFor('/blog/posts/a', { base: '/blog' }), '/blog/posts/a/');
  assert.equal(threadFor('/blog/posts/a', { format: 'file', base: '/blog' }), '/blog/posts/a.html');
});

test("'preserve' leaves paths alone", () => {
  assert.equal(threadFor('/posts/a', { format: 'preserve' }), '/posts/a');
  assert.equal(threadFor('/posts/a/', { format: 'preserve' }), '/posts/a/');
});

test('fragments are found by the sha256 of the thread id', () => {
  // printf %s /posts/hello/ | sha256sum
  assert.equal(
    fragmentName('/posts/hello/'),
    '03ffb7919f60d174601a1dfbcea6beca0b092e1241e93ec2055a936fc850eb4b.html',
  );
  const dir = mkdtempSync(join(tmpdir(), 'kiln-astro-'));
  assert.equal(readFragment(dir, '/posts/a/'), undefined);
  assert.equal(readCount(dir, '/posts/a/'), undefined);
  writeFileSync(join(dir, fragmentName('/posts/a/')), '<p>thread</p>');
  writeFileSync(join(dir, 'counts.json'), JSON.stringify({ '/posts/a/': 3 }));
  assert.equal(readFragment(dir, '/posts/a/'), '<p>thread</p>');
  assert.equal(readCount(dir, '/posts/a/'), 3);
  assert.equal(readCount(dir, '/posts/b/'), 0, 'a thread counts.json does not list has none');
  assert.equal(readFragment(null, '/posts/a/'), undefined);
});

test("counts read as kiln's built-in count template says them", () => {
  assert.equal(countWords(0), 'No comments yet');
  assert.equal(countWords(1), '1 comment');
  assert.equal(countWords(12), '12 comments');
});
