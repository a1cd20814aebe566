// A real OpenID provider on loopback for tests/suite/signin.rs: the npm
// package oidc-provider (installed by scripts/install-tools into
// $KILN_TOOLS_DIR/oidc-provider), with its development login and consent
// pages, which Chromium fills in.
//
// It listens on 127.0.0.1 on a free port and prints `issuer URL`; the test
// then starts kiln with that issuer and writes the receiver's callback URL
// on a line to standard input; the provider prints `ready` once it serves.
//
// Two confidential clients share that callback: `kiln` (the one kiln is
// configured with) and `other` (for the wrong-audience test). PKCE is
// required. Any login name signs in; `ann` is in the `mods` group, the rest
// in none. The ID token carries name, email and groups (not only userinfo).
import http from 'node:http';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const modules = process.env.OIDC_PROVIDER_MODULES;
const { default: Provider } = await import(
  require.resolve('oidc-provider', { paths: [modules] })
);

const people = {
  ann: { name: 'Ann Verified', email: 'ann@example.org', groups: ['mods'] },
  bob: { name: 'Bob Reader', email: 'bob@example.org', groups: [] },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  console.log(`issuer ${issuer}`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.once('line', (callback) => {
    const client = (id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      redirect_uris: [callback.trim()],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const provider = new Provider(issuer, {
      clients: [client('kiln'), client('other')],
      pkce: { required: () => true },
      conformIdTokenClaims: false,
      claims: {
        openid: ['sub'],
        profile: ['name'],
        email: ['email'],
        groups: ['groups'],
      },
      cookies: { keys: ['kiln-test-provider-cookie-key'] },
      features: { devInteractions: { enabled: true } },
      async findAccount(ctx, id) {
        const person = people[id] || { name: `Reader ${id}`, email: `${id}@example.org`, groups: [] };
        return {
          accountId: id,
          async claims() {
            return { sub: id, ...person };
          },
        };
      },
    });
    // Plain http on loopback: the provider needs to be told.
    provider.proxy = false;
    server.on('request', provider.callback());
    console.log('ready');
  });
});
