// The status page: reads the controller's API (the browser sends the session cookie) and draws
// it. Every value from the API goes into the page as text (textContent), never as markup.
'use strict';

const REFRESH_MS = 10_000;
const $ = (id) => document.getElementById(id);

/** An element with text (never parsed as HTML) and attributes. */
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function replaceChildren(parent, children) {
  parent.replaceChildren(...children);
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
function size(n) {
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

const number = new Intl.NumberFormat('en');

function ago(iso) {
  if (!iso) return 'never';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return 'just now';
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function duration(seconds) {
  if (seconds === undefined || seconds === null) return 'not yet known';
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function showProblem(text) {
  const box = $('problem');
  box.textContent = text ?? '';
  box.hidden = !text;
}

/** GET or POST the API as JSON; an error answer throws with its message. */
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, credentials: 'same-origin', headers: { accept: 'application/json', ...init.headers } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Error('The controller no longer accepts this page\'s token (it changed): open the link `offline status` prints.');
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

// ---- mirrors and network (GET /api/status)

function mirrorRow(m, listen) {
  const row = el('tr', undefined, { 'data-mirror': m.name });
  row.append(el('th', m.name, { scope: 'row' }));
  const counts = el('td');
  for (const [key, value] of Object.entries(m.counts)) {
    const item = el('span', undefined, { class: 'count', 'data-count': key, 'data-value': String(value) });
    if (key === 'bytes') item.append(el('b', size(value)));
    else item.append(el('b', number.format(value)), ` ${key}`);
    counts.append(item);
  }
  row.append(counts);
  row.append(el('td', ago(m.lastSync), m.lastSync ? { title: m.lastSync } : {}));
  const serving = el('td', undefined, { 'data-serving': String(m.serving) });
  if (m.serving === true) serving.append(el('span', 'yes', { class: 'yes' }), ` on ${listen}:${m.port}`);
  else if (m.serving === false) serving.append(el('span', 'no', { class: 'no' }), ` (port ${m.port} does not answer)`);
  else serving.append(el('span', 'no', { class: 'no' }), ` (${listen} is not on this machine: offline up creates it)`);
  row.append(serving);
  return row;
}

function figure(list, term, value) {
  list.append(el('dt', term), el('dd', value));
}

function drawNetwork(r) {
  const list = $('network');
  list.replaceChildren();
  const n = r.network;
  if (!n) {
    figure(list, 'state', 'unknown: ip or docker cannot be run here');
    return;
  }
  figure(list, 'state', n.up ? 'up (offline up has wired it)' : 'down');
  figure(list, 'mirror address', n.address);
  const link = n.interface;
  figure(list, 'interface', link.exists ? `${link.name}: ${link.addresses.join(', ') || 'no address'}${link.master ? `, on ${link.master}` : ''}` : `${link.name}: absent`);
  figure(list, 'bridge', `${n.bridge.name}: ${n.bridge.exists ? 'present' : 'absent'}`);
  const docker = n.dockerNetwork.exists === undefined ? 'unknown (Docker not reachable)' : n.dockerNetwork.exists ? 'present' : 'absent';
  figure(list, 'Docker network', `${n.dockerNetwork.name}: ${docker}`);
  figure(list, 'firewall', n.rules === undefined ? 'not readable by the controller (root reads it: sudo offline status)' : `${n.rules.length} rule(s) in offline's chain; INPUT jump ${n.jump ? 'present' : 'absent'}`);
  if (n.mirrors) figure(list, 'mirrors process', `pid ${n.mirrors.pid}, ${n.mirrors.running ? 'running' : 'not running'}`);
  if (r.stack) figure(list, 'compose stack', r.stack.length === 0 ? 'no containers' : r.stack.map((s) => `${s.service} ${s.state}${s.health === 'none' ? '' : ` (${s.health})`}`).join(', '));
}

async function refreshStatus() {
  const r = await api('/api/status');
  $('where').textContent = `Config ${r.config}; data ${r.data}; mirrors listen on ${r.listen}.`;
  replaceChildren($('mirrors').tBodies[0], r.mirrors.map((m) => mirrorRow(m, r.listen)));
  const rest = $('unconfigured');
  rest.hidden = r.unconfigured.length === 0;
  rest.textContent = `Not configured: ${r.unconfigured.join(', ')} (add a section to ${r.config} to mirror them).`;
  drawNetwork(r);
}

// ---- misses (GET /api/misses)

async function refreshMisses() {
  const r = await api('/api/misses');
  const table = $('misses');
  table.hidden = r.misses.length === 0;
  $('misses-summary').textContent = r.misses.length === 0
    ? 'No misses: every request the mirrors answered was for something mirrored.'
    : `${r.misses.length} item(s) clients asked for and did not get, newest first. "Sync the misses" fetches them.`;
  replaceChildren(table.tBodies[0], r.misses.map((m) => {
    const row = el('tr', undefined, { 'data-miss': m.item });
    row.append(el('td', m.item), el('td', m.mirror), el('td', number.format(m.count), { class: 'number' }), el('td', ago(m.last), { title: m.last }), el('td', m.reason ?? ''));
    return row;
  }));
  replaceChildren($('unseen'), r.unseen.map((u) => el('li', `${u.mirror}: ${u.why}`)));
}

// ---- syncs (POST /api/sync, GET /api/sync, events)

let following;

function drawProgress(p) {
  $('sync-running').hidden = false;
  $('sync-state').textContent = `Sync running: ${p.phase}.`;
  const bar = $('sync-bar');
  bar.max = Math.max(p.itemsTotal, 1);
  bar.value = p.itemsDone + p.itemsFailed;
  const list = $('sync-figures');
  list.replaceChildren();
  figure(list, 'items', `${number.format(p.itemsDone)} of ${number.format(p.itemsTotal)}${p.itemsFailed ? `, ${number.format(p.itemsFailed)} failed` : ''}`);
  figure(list, 'downloaded', size(p.bytesDone));
  figure(list, 'rate', `${size(Math.round(p.bytesPerSecond))}/s`);
  figure(list, 'time left', duration(p.etaSeconds));
}

function drawDone(outcome) {
  $('sync-running').hidden = true;
  const failures = $('sync-failures');
  if (outcome.error) {
    $('sync-state').textContent = `The last sync stopped: ${outcome.error.message}`;
    failures.hidden = true;
    return;
  }
  const verdict = outcome.interrupted ? 'was interrupted; what it verified is kept' : outcome.ok ? 'finished: ok' : `finished with ${outcome.failures.length} failure(s)`;
  const misses = outcome.misses ? `; misses: ${outcome.misses.mirrored.length} of ${outcome.misses.taken} mirrored` : '';
  $('sync-state').textContent = `The last sync ${verdict} in ${duration(Math.round(outcome.durationMs / 1000))}${misses}.`;
  failures.hidden = outcome.failures.length === 0;
  replaceChildren(failures, outcome.failures.map((f) => el('li', `${f.ecosystem} ${f.item}: ${f.message}`)));
}

/** Follow one sync's events: the current progress, then each change, then its report. */
function follow(id) {
  following?.close();
  $('sync-misses').disabled = true;
  const events = new EventSource(`/api/sync/${encodeURIComponent(id)}/events`);
  following = events;
  events.addEventListener('progress', (e) => drawProgress(JSON.parse(e.data)));
  events.addEventListener('done', (e) => {
    events.close();
    following = undefined;
    $('sync-misses').disabled = false;
    drawDone(JSON.parse(e.data));
    void refresh();
  });
}

async function syncMisses() {
  $('sync-misses').disabled = true;
  try {
    const { id } = await api('/api/sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ misses: true }) });
    showProblem();
    follow(id);
  } catch (err) {
    $('sync-misses').disabled = false;
    showProblem(err.message);
    void followLatest();
  }
}

/** On load, or after a refused start: follow the running sync, or show the last one's report. */
async function followLatest() {
  const { syncs } = await api('/api/sync');
  if (syncs.length > 0 && !following) follow(syncs[0].id);
}

// ---- the page

async function refresh() {
  try {
    await Promise.all([refreshStatus(), refreshMisses()]);
    $('updated').textContent = new Date().toLocaleTimeString();
    showProblem();
  } catch (err) {
    showProblem(err.message);
  }
}

$('sync-misses').addEventListener('click', () => void syncMisses());
void refresh();
void followLatest().catch((err) => showProblem(err.message));
setInterval(() => void refresh(), REFRESH_MS);
