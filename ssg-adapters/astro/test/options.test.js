// The integration refuses options it does not know or cannot use, naming
// them, rather than building a site without comments because of a typo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kiln from '../src/index.js';

test('known options make an integration', () => {
  const integration = kiln({ bake: false, bin: 'kiln', args: ['--full'], strict: false, fragments: false });
  assert.equal(integration.name, 'kiln-astro');
  assert.equal(typeof integration.hooks['astro:build:done'], 'function');
});

test('a misspelt option is named', () => {
  assert.throws(() => kiln({ fragment: 'kiln' }), /unknown option `fragment`/);
});

test('options of the wrong kind are named', () => {
  assert.throws(() => kiln({ args: '--full' }), /`args` must be an array of strings/);
  assert.throws(() => kiln({ fragments: true }), /`fragments` must be a folder name or false/);
});
