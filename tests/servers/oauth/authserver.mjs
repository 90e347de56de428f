// A real OAuth 2.1 authorization server for the tests: the certified `oidc-provider` on loopback.
// Client credentials grant, resource indicators (RFC 8707) and JWT access tokens (RFC 9068).
// Prints one JSON line {"issuer", "rogue"} once listening. Test-only controls under /__test/:
//   POST /__test/rotate      new signing key first, the old one still published (a real rotation)
//   POST /__test/clock?offset=SECONDS   shift this server's clock (mint expired / future tokens)
//   GET  /__test/jwks-hits   how many times the JWKS was fetched
// "rogue" is a second provider claiming the same issuer with keys nobody published.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const SCOPES = 'route governance:read audit:read audit:write';
const realNow = Date.now.bind(Date);
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function provider(issuer, keys) {
  const made = new Provider(issuer, {
    clients: [{
      client_id: 'agent', client_secret: 'agent-secret', grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys },
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: SCOPES, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: () => ({ team: 'finance' }),
    cookies: { keys: ['test-only-cookie-key'] },
  });
  made.proxy = false;
  return made;
}

let hits = 0;
let keys = [signingKey()];
const main = http.createServer();
const rogue = http.createServer();
await new Promise((ok) => main.listen(0, '127.0.0.1', ok));
await new Promise((ok) => rogue.listen(0, '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${main.address().port}`;
let current = provider(issuer, keys).callback();
const impostor = provider(issuer, [signingKey()]).callback();

main.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/__test/rotate' && req.method === 'POST') {
    keys = [signingKey(), ...keys];
    current = provider(issuer, keys).callback();
    res.end(JSON.stringify({ kid: keys[0].kid }));
  } else if (url.pathname === '/__test/clock' && req.method === 'POST') {
    offsetMs = Number(url.searchParams.get('offset') || '0') * 1000;
    res.end('{}');
  } else if (url.pathname === '/__test/jwks-hits') {
    res.end(JSON.stringify({ hits }));
  } else {
    if (url.pathname === '/jwks') hits += 1;
    current(req, res);
  }
});
rogue.on('request', (req, res) => impostor(req, res));
process.stdout.write(JSON.stringify({ issuer, rogue: `http://127.0.0.1:${rogue.address().port}` }) + '\n');
