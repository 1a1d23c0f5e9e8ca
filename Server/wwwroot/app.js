'use strict';
// The musicgen serve page: submits a generation, follows its progress by server-sent events, plays the WAV as
// it streams, draws its waveform, and keeps this browser's history in localStorage; its radio starts a stream
// without end, plays it, changes its description and stops it. No framework, no build step.

const $ = id => document.getElementById(id);
const HISTORY_KEY = 'musicgen-history';
const API_KEY = 'musicgen-api-key';
let model = null;
let current = null;
let events = null;

/** The URL with the API key as a query parameter, for what the browser fetches by itself (audio, events, links). */
function withKey(url) {
  const key = $('api-key').value.trim();
  return key ? `${url}${url.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}` : url;
}

function authHeaders() {
  const key = $('api-key').value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

/** Plain words from an RFC 7807 answer (or whatever came back). */
async function problemText(response) {
  try {
    const problem = await response.json();
    if (problem.detail) return problem.detail;
    if (problem.title) return problem.title;
  } catch { /* not JSON */ }
  return `The server answered ${response.status} ${response.statusText}.`;
}

async function init() {
  $('api-key').value = localStorage.getItem(API_KEY) || '';
  renderHistory();
  try {
    const response = await fetch('/healthz');
    model = await response.json();
    $('model').textContent = `${model.model} on ${model.device} · ${model.channels === 2 ? 'stereo' : 'mono'}, ${model.sample_rate} Hz · up to ${model.max_seconds} s`;
    $('duration').max = model.max_seconds;
    $('duration').value = Math.min(8, model.max_seconds);
    $('upload-label').textContent = model.melody ? 'Melody to follow (optional audio file)' : 'Audio to continue (optional audio file)';
    $('key-row').hidden = !model.auth_required;
    if (model.status !== 'ready') showError('The server is shutting down and takes no new work.');
  } catch {
    $('model').textContent = '';
    showError('The server cannot be reached. Is musicgen serve running?');
  }
}

/** The request: JSON, or a form when a file is attached. Empty advanced fields keep the model's defaults. */
function buildRequest() {
  const fields = { prompt: $('prompt').value.trim(), duration: Number($('duration').value) };
  for (const name of ['seed', 'top_k', 'top_p', 'temperature', 'guidance']) {
    const value = $(name).value.trim();
    if (value !== '') fields[name] = Number(value);
  }
  if ($('greedy').checked) fields.greedy = true;
  const file = $('upload').files[0];
  if (!file) return { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(fields) };
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, String(value));
  form.append(model && model.melody ? 'melody' : 'continue', file, file.name);
  return { headers: {}, body: form };
}

async function submit(event) {
  event.preventDefault();
  showError('');
  if (!$('prompt').value.trim()) {
    showError('Describe the music first.');
    $('prompt').focus();
    return;
  }
  localStorage.setItem(API_KEY, $('api-key').value.trim());
  const request = buildRequest();
  $('generate').disabled = true;
  try {
    const response = await fetch('/v1/generations', { method: 'POST', headers: { ...request.headers, ...authHeaders() }, body: request.body });
    if (!response.ok) {
      showError(await problemText(response));
      $('generate').disabled = false;
      return;
    }
    follow(await response.json(), $('prompt').value.trim(), Number($('duration').value));
  } catch {
    showError('The request did not reach the server. Check the connection and try again.');
    $('generate').disabled = false;
  }
}

function follow(job, prompt, duration) {
  current = { id: job.id, urls: job.urls, prompt, duration, finished: false };
  addToHistory({ id: job.id, prompt, duration, created: new Date().toISOString(), status: job.status });
  $('current').hidden = false;
  $('current-title').textContent = prompt;
  $('progress').value = 0;
  $('progress-text').textContent = 'Waiting for the generator…';
  $('cancel').hidden = false;
  clearWaveform();
  const player = $('player');
  player.src = withKey(job.urls.audio); // streams while the piece is generated
  player.play().catch(() => { /* the browser may wait for a click on play */ });

  if (events) events.close();
  events = new EventSource(withKey(job.urls.events));
  events.addEventListener('status', e => showProgress(JSON.parse(e.data)));
  for (const name of ['done', 'failed', 'cancelled']) events.addEventListener(name, e => finish(JSON.parse(e.data)));
  events.onerror = () => {
    if (current && !current.finished) $('progress-text').textContent = 'Lost the connection to the server; retrying…';
  };
}

function showProgress(status) {
  const p = status.progress;
  $('progress').max = Math.max(1, p.steps);
  $('progress').value = p.step;
  if (status.status === 'queued') {
    $('progress-text').textContent = 'Waiting for the generator…';
    return;
  }
  const speed = p.steps_per_second ? `${p.steps_per_second.toFixed(1)} steps/s` : '– steps/s';
  const left = p.seconds_left != null ? `, about ${Math.ceil(p.seconds_left)} s left` : '';
  $('progress-text').textContent = `Step ${p.step} of ${p.steps} · ${speed}${left}`;
}

function finish(status) {
  if (events) { events.close(); events = null; }
  current.finished = true;
  $('generate').disabled = false;
  $('cancel').hidden = true;
  updateHistory(status.id, status.status);
  if (status.status === 'done') {
    showProgress(status);
    const seconds = (new Date(status.finished) - new Date(status.started)) / 1000;
    $('progress-text').textContent = `Done: ${status.parameters.duration} s of audio in ${seconds.toFixed(1)} s (seed ${status.parameters.seed}).`;
    const player = $('player');
    // The finished file can be seeked; swap it in unless the stream is playing.
    if (player.paused) player.src = withKey(`${status.urls.audio}?complete=1`);
    drawWaveform(status.urls.audio);
  } else if (status.status === 'failed') {
    $('progress-text').textContent = 'Failed.';
    showError(`The generation failed: ${status.error}`);
  } else {
    $('progress-text').textContent = 'Cancelled.';
  }
}

async function cancel() {
  if (!current || current.finished) return;
  const response = await fetch(current.urls.self, { method: 'DELETE', headers: authHeaders() });
  if (!response.ok && response.status !== 404) showError(await problemText(response));
}

function clearWaveform() {
  const canvas = $('waveform');
  const g = canvas.getContext('2d');
  g.fillStyle = '#1b2233';
  g.fillRect(0, 0, canvas.width, canvas.height);
}

/** Reads a PCM16 or float32 WAV and draws the minimum and maximum of each column. */
async function drawWaveform(url) {
  const response = await fetch(withKey(url));
  if (!response.ok) return;
  const view = new DataView(await response.arrayBuffer());
  let offset = 12, format = 1, channels = 1, bits = 16, data = null;
  while (offset + 8 <= view.byteLength) {
    const id = String.fromCharCode(...new Uint8Array(view.buffer, offset, 4));
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      format = view.getUint16(offset + 8, true);
      channels = view.getUint16(offset + 10, true);
      bits = view.getUint16(offset + 22, true);
    } else if (id === 'data') {
      data = { start: offset + 8, size: Math.min(size, view.byteLength - offset - 8) };
      break;
    }
    offset += 8 + size + (size & 1);
  }
  if (!data) return;
  const bytes = bits / 8, frames = Math.floor(data.size / (bytes * channels));
  const sample = i => format === 3 ? view.getFloat32(data.start + i * bytes * channels, true) : view.getInt16(data.start + i * bytes * channels, true) / 32768;
  const canvas = $('waveform');
  const g = canvas.getContext('2d');
  clearWaveform();
  g.strokeStyle = '#6fa8ff';
  const middle = canvas.height / 2;
  for (let x = 0; x < canvas.width; x++) {
    const from = Math.floor(x * frames / canvas.width), to = Math.max(from + 1, Math.floor((x + 1) * frames / canvas.width));
    let low = 0, high = 0;
    for (let i = from; i < to && i < frames; i++) {
      const v = sample(i);
      if (v < low) low = v;
      if (v > high) high = v;
    }
    g.beginPath();
    g.moveTo(x + 0.5, middle - high * middle);
    g.lineTo(x + 0.5, middle - low * middle + 1);
    g.stroke();
  }
}

function loadHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch { return []; }
}

function saveHistory(items) {
  localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(0, 50)));
  renderHistory();
}

function addToHistory(item) { saveHistory([item, ...loadHistory()]); }

function updateHistory(id, status) { saveHistory(loadHistory().map(item => item.id === id ? { ...item, status } : item)); }

function renderHistory() {
  const items = loadHistory();
  const list = $('history');
  list.replaceChildren();
  $('history-empty').hidden = items.length > 0;
  for (const item of items) {
    const li = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = `${item.prompt} (${item.duration} s, ${item.status}) `;
    li.append(text);
    if (item.status === 'done') {
      const base = `/v1/generations/${item.id}`;
      for (const [label, path, name] of [['WAV', '/audio', '.wav'], ['codes', '/codes', '.safetensors']]) {
        const link = document.createElement('a');
        link.href = withKey(base + path);
        link.download = `musicgen-${item.id.slice(0, 8)}${name}`;
        link.textContent = label;
        link.setAttribute('aria-label', `Download ${label} of “${item.prompt}”`);
        li.append(link);
      }
    }
    list.append(li);
  }
}

/** The stream the radio plays: its id, URLs and the timer that follows its status; null when off. */
let radio = null;

/** The sampling settings of the form, for a stream (which has no duration and takes no upload). */
function streamFields() {
  const fields = { prompt: $('prompt').value.trim() };
  for (const name of ['seed', 'top_k', 'top_p', 'temperature', 'guidance']) {
    const value = $(name).value.trim();
    if (value !== '') fields[name] = Number(value);
  }
  if ($('greedy').checked) fields.greedy = true;
  return fields;
}

async function startRadio() {
  showError('');
  if (!$('prompt').value.trim()) {
    showError('Describe the music first.');
    $('prompt').focus();
    return;
  }
  localStorage.setItem(API_KEY, $('api-key').value.trim());
  $('radio-start').disabled = true;
  try {
    const response = await fetch('/v1/streams', {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...authHeaders() }, body: JSON.stringify(streamFields()),
    });
    if (!response.ok) {
      showError(await problemText(response));
      $('radio-start').disabled = false;
      return;
    }
    const stream = await response.json();
    radio = { id: stream.id, urls: stream.urls, timer: setInterval(followRadio, 1000) };
    $('radio').dataset.stream = stream.id;
    $('radio-start').hidden = true;
    $('radio-live').hidden = false;
    showRadio(stream);
    const player = $('radio-player');
    player.src = withKey(stream.urls.audio); // joins at the live point
    player.play().catch(() => { /* the browser may wait for a click on play */ });
  } catch {
    showError('The request did not reach the server. Check the connection and try again.');
    $('radio-start').disabled = false;
  }
}

function showRadio(stream) {
  const listeners = `${stream.listeners} listener${stream.listeners === 1 ? '' : 's'}`;
  $('radio-status').textContent = stream.status === 'queued'
    ? `Waiting for the generator… (“${stream.text}”)`
    : `Playing “${stream.text}” · window ${stream.windows} · ${stream.seconds.toFixed(1)} s · ${listeners}`;
}

async function followRadio() {
  if (!radio) return;
  const response = await fetch(radio.urls.self, { headers: authHeaders() }).catch(() => null);
  if (!radio || !response) return;
  if (!response.ok) return radioOff(response.status === 404 ? 'The stream is gone.' : await problemText(response));
  const stream = await response.json();
  if (stream.status === 'queued' || stream.status === 'running') showRadio(stream);
  else radioOff(`The stream stopped${stream.error ? `: ${stream.error}` : '.'}`);
}

async function changeRadio() {
  const text = $('radio-prompt').value.trim();
  if (!radio || !text) return;
  showError('');
  const response = await fetch(radio.urls.prompt, {
    method: 'PUT', headers: { 'Content-Type': 'application/json', ...authHeaders() }, body: JSON.stringify({ text }),
  });
  if (!response.ok) return showError(await problemText(response));
  showRadio(await response.json());
}

/** Stops playing (and following) the stream; the message says why, when it was not the listener's choice. */
function radioOff(message) {
  if (radio) clearInterval(radio.timer);
  radio = null;
  delete $('radio').dataset.stream;
  const player = $('radio-player');
  player.pause();
  player.removeAttribute('src');
  player.load();
  $('radio-live').hidden = true;
  $('radio-start').hidden = false;
  $('radio-start').disabled = false;
  $('radio-status').textContent = '';
  if (message) showError(message);
}

async function stopRadio() {
  if (!radio) return;
  const self = radio.urls.self;
  radioOff('');
  const response = await fetch(self, { method: 'DELETE', headers: authHeaders() });
  if (!response.ok && response.status !== 404) showError(await problemText(response));
}

$('radio-start').addEventListener('click', startRadio);
$('radio-change').addEventListener('click', changeRadio);
$('radio-stop').addEventListener('click', stopRadio);
$('radio-prompt').addEventListener('keydown', e => {
  if (e.key === 'Enter') changeRadio();
});
$('form').addEventListener('submit', submit);
$('cancel').addEventListener('click', cancel);
$('prompt').addEventListener('keydown', e => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('form').requestSubmit();
});
init();
