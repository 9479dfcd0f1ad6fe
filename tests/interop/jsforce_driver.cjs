// Drives a Salesforce org with jsforce, the library the Salesforce CLI is built on: one action
// per run, its input as JSON on stdin, its result as JSON on stdout. The tests point it at the
// stand-in and compare what it sees with what the stand-in meant to say.
'use strict';
const crypto = require('node:crypto');
const jsforce = require('jsforce');

const b64url = (data) => Buffer.from(data).toString('base64url');

function jwtAssertion({ consumerKey, username, audience, privateKey }) {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = b64url(
    JSON.stringify({ iss: consumerKey, sub: username, aud: audience, exp: Math.floor(Date.now() / 1000) + 180 }),
  );
  const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

async function connect(input) {
  const { org, method, version } = input;
  const oauth2 = { clientId: org.consumerKey, clientSecret: org.clientSecret, loginUrl: org.url };
  let conn;
  switch (method) {
    case 'soap': {
      // SOAP login(), no OAuth client configured: the call at the last version that has it
      // (loginVersion), the session then used at `version`, as the product does.
      const login = new jsforce.Connection({ loginUrl: org.url, version: input.loginVersion || version });
      await login.login(org.username, org.password + org.securityToken);
      conn = new jsforce.Connection({ instanceUrl: login.instanceUrl, accessToken: login.accessToken, version });
      conn.userInfo = login.userInfo;
      break;
    }
    case 'password': // OAuth 2.0 username-password flow
      conn = new jsforce.Connection({ oauth2, version });
      await conn.login(org.username, org.password + org.securityToken);
      break;
    case 'jwt':
      conn = new jsforce.Connection({ loginUrl: org.url, version });
      await conn.authorize({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwtAssertion({ ...org, audience: org.url, privateKey: org.privateKey }),
      });
      break;
    case 'refresh_token': // a dead access token: jsforce refreshes it by itself
      conn = new jsforce.Connection({
        oauth2,
        version,
        instanceUrl: org.url,
        accessToken: '00Dexpired!token',
        refreshToken: org.refreshToken,
      });
      break;
    case 'authorization_code': {
      // The web-server flow with PKCE: the authorize page redirects to the callback with a code.
      const auth = new jsforce.OAuth2({ ...oauth2, redirectUri: org.redirectUri, useVerifier: true });
      const page = await fetch(auth.getAuthorizationUrl({ state: 'interop' }), { redirect: 'manual' });
      const callback = new URL(page.headers.get('location'));
      if (callback.searchParams.get('state') !== 'interop') throw new Error('state lost');
      conn = new jsforce.Connection({ oauth2: auth, version });
      await conn.authorize(callback.searchParams.get('code'));
      break;
    }
    case 'client_credentials':
      conn = new jsforce.Connection({ oauth2, version });
      await conn.authorize({ grant_type: 'client_credentials' });
      break;
    case 'access_token':
      conn = new jsforce.Connection({ instanceUrl: org.url, accessToken: org.accessToken, version });
      break;
    default:
      throw new Error(`unknown auth method ${method}`);
  }
  return conn;
}

async function pollDone(conn, id) {
  const seen = [];
  for (let i = 0; i < 200; i++) {
    const result = await conn.metadata.checkDeployStatus(id, true);
    seen.push(result.status);
    if (result.done) return { seen, result };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`deployment ${id} never finished`);
}

async function act(input) {
  const conn = await connect(input);
  conn.metadata.pollInterval = 20;
  const zip = input.zip ? Buffer.from(input.zip, 'base64') : undefined;
  switch (input.action) {
    case 'read': {
      const query = await conn.query('SELECT Id, Name, IsSandbox FROM Organization');
      const limits = await conn.limits();
      return {
        instanceUrl: conn.instanceUrl,
        accessToken: conn.accessToken,
        userInfo: conn.userInfo,
        records: query.records,
        limits: Object.keys(limits),
      };
    }
    case 'deploy': {
      const locator = conn.metadata.deploy(zip, input.options);
      locator.on('error', () => {}); // the promise below rejects with it
      const progress = [];
      locator.on('progress', (result) => progress.push(result.status));
      const result = await locator.complete(true);
      return { progress, result };
    }
    case 'quick_deploy': {
      const validating = conn.metadata.deploy(zip, input.options);
      validating.on('error', () => {});
      const validation = await validating.complete(true);
      const id = await conn.metadata.deployRecentValidation({ id: validation.id });
      return { validation, id, ...(await pollDone(conn, id)) };
    }
    case 'cancel': {
      const started = await conn.metadata.deploy(zip, input.options);
      const before = await conn.metadata.checkDeployStatus(started.id, false);
      const cancel = await conn.metadata.cancelDeploy(started.id);
      return { before, cancel, ...(await pollDone(conn, started.id)) };
    }
    default:
      throw new Error(`unknown action ${input.action}`);
  }
}

let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (text += chunk));
process.stdin.on('end', async () => {
  try {
    process.stdout.write(JSON.stringify({ ok: true, value: await act(JSON.parse(text)) }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(error && error.stack ? error.stack : error), name: error && error.name }));
  }
});
