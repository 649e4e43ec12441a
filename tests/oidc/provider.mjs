// An OpenID Connect provider for the sign-in tests (panva's oidc-provider), on loopback.
//
//   OIDC_CLIENTS='[{"client_id": ..., "client_secret": ..., "redirect_uris": [...],
//                   "post_logout_redirect_uris": [...]}]' node tests/oidc/provider.mjs
//
// It listens on a free port of 127.0.0.1 and prints "issuer <url>" once it answers.
// Any login name signs in as the account of that id (its `sub`); the tests give
// accounts more claims and can make the next ID token one for another client or an
// expired one (POST /_test/...), signed with the provider's own key as a misbehaving
// or clock-skewed provider would.
import http from 'node:http';

import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = new Map(); // sub -> extra claims
let nextIdToken = null; // {aud, exp_offset} applied to the next ID token the token endpoint issues

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-key', use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['claimdesk-tests-only'] },
  scopes: ['openid', 'marketplace'],
  claims: { openid: ['sub'], marketplace: ['shop_id', 'person_id'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign out</title></head>
          <body><h1>Sign out of the test provider?</h1>${form}
          <button id="logout" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
          </body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(accounts.get(id) || {}) };
      },
    };
  },
  // First-party client: no consent screen; the requested scopes are granted.
  async loadExistingGrant(ctx) {
    const { Grant } = ctx.oidc.provider;
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    const grant = grantId
      ? await Grant.find(grantId)
      : new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !nextIdToken || !ctx.body?.id_token) {
    return;
  }
  const change = nextIdToken;
  nextIdToken = null;
  const payload = decodeJwt(ctx.body.id_token);
  if (change.aud) payload.aud = change.aud;
  if (change.exp_offset !== undefined) {
    const now = Math.floor(Date.now() / 1000);
    payload.exp = now + change.exp_offset;
    payload.iat = Math.min(payload.iat, payload.exp - 60);
  }
  ctx.body = {
    ...ctx.body,
    id_token: await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid, typ: 'JWT' })
      .sign(privateKey),
  };
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const oidc = provider.callback();

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (req.method === 'POST' && url.pathname === '/_test/accounts') {
      for (const [sub, claims] of Object.entries(JSON.parse(await readBody(req)))) {
        accounts.set(sub, claims);
      }
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/_test/next-id-token') {
      nextIdToken = JSON.parse(await readBody(req));
      res.writeHead(204).end();
      return;
    }
    const interaction = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (interaction && req.method === 'GET' && !interaction[2]) {
      const details = await provider.interactionDetails(req, res);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(
        `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test provider</title></head>
        <body><h1>Sign in at the test provider</h1><p>${escapeHtml(details.params.client_id)}</p>
        <form method="post" action="/interaction/${escapeHtml(details.uid)}/login">
        <label for="login">Login</label> <input id="login" name="login" autofocus>
        <button id="sign-in" type="submit">Sign in</button></form></body></html>`,
      );
      return;
    }
    if (interaction && req.method === 'POST' && interaction[2]) {
      const login = new URLSearchParams(await readBody(req)).get('login')?.trim();
      if (!login) {
        res.writeHead(400).end('login required');
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    oidc(req, res);
  } catch (error) {
    res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error));
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`issuer ${issuer}`);
