// A real OpenID Connect provider for hailong's tests: the certified `oidc-provider` package,
// one confidential client, accounts from the environment, and a one-form login.
//
// Environment:
//   OIDC_PORT             port to listen on, on 127.0.0.1; the issuer is http://127.0.0.1:PORT
//   OIDC_CLIENT_ID        the one client (client_secret_basic, authorization_code, `code`,
//   OIDC_CLIENT_SECRET    PKCE S256 required)
//   OIDC_REDIRECT_URI
//   OIDC_POST_LOGOUT_URI  optional: the client's one post_logout_redirect_uri
//   OIDC_ACCOUNTS         JSON {"<login name>": {"sub": "...", "email": "...", ...}}
//
// Interactions (no dev interactions): GET /interaction/:uid shows a login form (field `login`,
// no password) for the `login` prompt and grants the `consent` prompt by itself; POST
// /interaction/:uid/login signs in a known login name or shows the form again with an error.
// Only node:http and oidc-provider; nothing is stored outside this process's memory.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-provider: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
// OIDC_ISSUER_PATH: what follows the port in the issuer ("/" for a provider that, as Auth0,
// names itself with a trailing slash); none by default.
const issuer = `http://${HOST}:${port}${process.env.OIDC_ISSUER_PATH || ''}`;
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUri = required('OIDC_REDIRECT_URI');
const postLogoutUri = process.env.OIDC_POST_LOGOUT_URI || undefined;

// login name -> claims; accounts are found by `sub` (the accountId) once signed in.
const accountsByLogin = new Map(Object.entries(JSON.parse(required('OIDC_ACCOUNTS'))));
const accountsBySub = new Map();
for (const [login, claims] of accountsByLogin) {
  const sub = String(claims.sub ?? login);
  accountsByLogin.set(login, { ...claims, sub });
  accountsBySub.set(sub, { ...claims, sub });
}

// A fresh RS256 signing key per run: served at jwks_uri, signs every ID token.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const client = {
  client_id: clientId,
  client_secret: clientSecret,
  redirect_uris: [redirectUri],
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  ...(postLogoutUri ? { post_logout_redirect_uris: [postLogoutUri] } : {}),
};

const configuration = {
  clients: [client],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  responseTypes: ['code'],
  // An authorization request without code_challenge is refused (invalid_request), S256 the
  // only method. 8.8's default already requires PKCE of every client, 9.x's only of public
  // ones: said here so that a version bump cannot relax it.
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Scope-requested claims (email, name) go into the ID token too, not only to userinfo.
  conformIdTokenClaims: false,
  // Explicit lifetimes (seconds), which also keeps the "default ttl" notices out of the log.
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 3600,
    IdToken: 3600,
    Interaction: 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const claims = accountsBySub.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ ...claims }) };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1><p class="error">${escape(out.error)}: ${escape(
      out.error_description ?? '',
    )}</p>`);
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false; // plain http on 127.0.0.1; no X-Forwarded-* headers are trusted

for (const event of [
  'server_error',
  'authorization.error',
  'grant.error',
  'end_session.error',
  'revocation.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
]) {
  provider.on(event, (ctx, error) => {
    const detail = [error?.error_description, error?.error_detail].filter(Boolean).join('; ');
    console.error(`oidc-provider ${event}: ${error?.message ?? error}${detail ? ` (${detail})` : ''}`);
  });
}

// -- interactions -------------------------------------------------------------------------
function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body>${body}</body></html>
`;
}

function loginPage(uid, clientName, error = '', login = '') {
  return page(
    'Sign in',
    `<h1>Sign in to ${escape(clientName)}</h1>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Login <input name="login" value="${escape(login)}" autofocus required></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The consent prompt: grant whatever scopes and claims the client asked for.
async function grantConsent(req, res, details) {
  const { prompt, params, session, grantId: existing } = details;
  const grant = existing
    ? await provider.Grant.find(existing)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) {
    grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  }
  if (prompt.details.missingOIDCClaims) {
    grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  }
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = existing ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p class="error">interaction mismatch</p>'));
    return;
  }
  const clientName = details.params.client_id;
  const promptName = details.prompt.name;

  if (req.method === 'GET' && !action) {
    if (promptName === 'login') {
      send(res, 200, loginPage(uid, clientName));
    } else if (promptName === 'consent') {
      await grantConsent(req, res, details);
    } else {
      send(res, 400, page('Error', `<p class="error">unsupported prompt ${escape(promptName)}</p>`));
    }
    return;
  }

  if (req.method === 'POST' && action === 'login' && promptName === 'login') {
    const login = ((await readForm(req)).get('login') ?? '').trim();
    const account = accountsByLogin.get(login);
    if (!account) {
      send(res, 200, loginPage(uid, clientName, `Unknown login: ${login}`, login));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  send(res, 404, page('Not found', '<p class="error">not found</p>'));
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/;
const providerCallback = provider.callback();

const server = http.createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  const match = INTERACTION.exec(path);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((error) => {
    if (error instanceof errors.SessionNotFound) {
      // The interaction expired or its cookie is missing: the user has to start over.
      send(res, 400, page('Error', `<p class="error">${escape(error.error_description ?? error.message)}</p>`));
      return;
    }
    console.error('oidc-provider interaction error:', error);
    if (!res.headersSent) send(res, 500, page('Error', '<p class="error">server error</p>'));
    else res.end();
  });
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(port, HOST, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
