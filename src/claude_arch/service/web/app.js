// The claude-arch web page: a streaming chat and a live dashboard. No framework, no build step.
// Chat: the WebSocket /v1/chat/ws (Stop sends {"type":"cancel"}); when the socket cannot open,
// the same turn goes over SSE (POST /v1/chat, Stop aborts the fetch).
// Everything that came from the network reaches the DOM through textContent, never as markup.
'use strict';

(() => {
  const KEY_STORAGE = 'claude-arch.key';
  const POLL_MS = 2000;
  const CANCEL_GRACE_MS = 3000;
  const SUBPROTOCOL = 'claude-arch.v1';
  const KEY_SUBPROTOCOL = 'claude-arch.key.';

  const $ = (id) => document.getElementById(id);
  const ui = {
    key: $('key'), model: $('model'), settings: $('settings'),
    transcript: $('transcript'), chatStatus: $('chat-status'), form: $('chat-form'),
    prompt: $('prompt'), send: $('send'), stop: $('stop'), newChat: $('new-chat'),
    dashStatus: $('dash-status'), modelsBody: $('models-body'), errorsBody: $('errors-body'),
  };

  let sessionId = null;
  let turn = null;       // the answer being streamed: {answer, meta, via, finished, stopped, ...}
  let socket = null;
  let socketReady = null;

  // --- settings ------------------------------------------------------------------------------
  const apiKey = () => ui.key.value.trim();
  const authHeaders = () => (apiKey() ? { 'x-api-key': apiKey() } : {});

  ui.key.value = sessionStorage.getItem(KEY_STORAGE) || '';
  ui.settings.addEventListener('submit', (ev) => ev.preventDefault());
  ui.key.addEventListener('change', () => {
    if (apiKey()) sessionStorage.setItem(KEY_STORAGE, apiKey());
    else sessionStorage.removeItem(KEY_STORAGE);
    closeSocket();
    loadModels();
    refreshDashboard();
  });

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return `${response.status}: ${body.error.message}`;
    } catch (_) { /* not JSON: the status line says enough */ }
    return `${response.status} ${response.statusText}`;
  }

  async function loadModels() {
    let response;
    try {
      response = await fetch('/v1/models?limit=1000', { headers: authHeaders() });
    } catch (_) {
      setStatus(ui.chatStatus, 'The service cannot be reached.');
      return;
    }
    if (!response.ok) {
      setStatus(ui.chatStatus, `Models: ${await errorMessage(response)}`);
      return;
    }
    const body = await response.json();
    const chosen = ui.model.value;
    while (ui.model.options.length > 1) ui.model.remove(1);
    for (const m of body.data || []) {
      const label = m.display_name ? `${m.display_name} (${m.id})` : m.id;
      ui.model.add(new Option(label, m.id, false, m.id === chosen));
    }
  }

  // --- transcript ----------------------------------------------------------------------------
  function setStatus(node, text) { node.textContent = text; }

  function bubble(role, text) {
    const item = document.createElement('article');
    item.className = `message ${role}`;
    const who = document.createElement('h3');
    who.className = 'who';
    who.textContent = role === 'user' ? 'You' : 'Claude';
    const body = document.createElement('p');
    body.className = 'text';
    body.textContent = text;
    const meta = document.createElement('p');
    meta.className = 'meta';
    item.append(who, body, meta);
    ui.transcript.append(item);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    return { item, body, meta };
  }

  function setBusy(busy) {
    ui.send.disabled = busy;
    ui.stop.disabled = !busy;
    ui.transcript.setAttribute('aria-busy', String(busy));
  }

  function startTurn(text) {
    bubble('user', text);
    const { item, body, meta } = bubble('assistant', '');
    item.setAttribute('aria-busy', 'true');
    turn = { item, answer: body, meta, via: null, finished: false, stopped: false, abort: null, timer: null };
    setBusy(true);
    setStatus(ui.chatStatus, 'Answering…');
    return turn;
  }

  function finishTurn(t, problem) {
    if (t.finished) return;
    t.finished = true;
    clearTimeout(t.timer);
    t.item.removeAttribute('aria-busy');
    if (problem && !t.stopped) {
      t.item.classList.add('failed');
      t.meta.textContent = problem;
      setStatus(ui.chatStatus, `Error: ${problem}`);
    } else if (t.stopped) {
      t.item.classList.add('stopped');
      if (!t.meta.textContent) t.meta.textContent = 'Stopped.';
      setStatus(ui.chatStatus, 'Stopped.');
    } else {
      setStatus(ui.chatStatus, 'Done.');
    }
    if (turn === t) turn = null;
    setBusy(false);
    refreshDashboard();
    document.dispatchEvent(new Event('claude-arch:turn-finished'));  // the charts redraw
  }

  // One handler for both transports: {type: delta|done|error|ping, ...}.
  function onServerEvent(t, event) {
    if (!t || t.finished) return;
    if (event.type === 'delta') {
      if (!t.stopped && typeof event.text === 'string') {
        t.answer.append(document.createTextNode(event.text));
        ui.transcript.scrollTop = ui.transcript.scrollHeight;
      }
    } else if (event.type === 'done') {
      if (event.session_id) sessionId = event.session_id;
      const usage = event.usage || {};
      const cost = event.cost_usd != null ? ` · $${Number(event.cost_usd).toFixed(6)}` : '';
      t.meta.textContent = `${usage.input_tokens ?? '?'} tokens in · ${usage.output_tokens ?? '?'} out${cost}`
        + (t.stopped ? ' · stopped' : '');
      finishTurn(t, null);
    } else if (event.type === 'error') {
      const err = event.error || {};
      finishTurn(t, `${err.type || 'error'}: ${err.message || 'the answer failed'}`);
    }
  }

  // --- WebSocket transport -------------------------------------------------------------------
  function closeSocket() {
    if (socket) socket.close(1000, 'settings changed');
    socket = null;
    socketReady = null;
  }

  function connect() {
    if (socket && socket.readyState <= WebSocket.OPEN) return socketReady;
    const url = new URL('/v1/chat/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const protocols = [SUBPROTOCOL];
    if (apiKey()) protocols.push(KEY_SUBPROTOCOL + apiKey());
    const ws = new WebSocket(url, protocols);  // throws on a key a subprotocol cannot carry
    socket = ws;
    socketReady = new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(ws), { once: true });
      ws.addEventListener('close', () => reject(new Error('the WebSocket closed')), { once: true });
    });
    socketReady.catch(() => {});  // a refused socket is handled where it is awaited
    ws.addEventListener('message', (ev) => {
      let event;
      try { event = JSON.parse(ev.data); } catch (_) { return; }
      onServerEvent(turn, event);
    });
    ws.addEventListener('close', (ev) => {
      if (socket === ws) { socket = null; socketReady = null; }
      if (turn && turn.via === 'ws' && !turn.finished) {
        finishTurn(turn, turn.stopped ? null : `connection closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`);
      }
    });
    return socketReady;
  }

  async function sendOverSocket(t, message) {
    let ws;
    try {
      ws = await connect();
    } catch (_) {
      return false;
    }
    if (t.stopped) { finishTurn(t, null); return true; }
    t.via = 'ws';
    ws.send(JSON.stringify({ type: 'user', ...message }));
    return true;
  }

  // --- SSE transport (POST /v1/chat) ---------------------------------------------------------
  function parseSse(raw) {
    let type = 'message';
    const data = [];
    for (const line of raw.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return null;
    try {
      return { ...JSON.parse(data.join('\n')), type };
    } catch (_) {
      return null;
    }
  }

  async function sendOverSse(t, message) {
    t.via = 'sse';
    t.abort = new AbortController();
    try {
      const response = await fetch('/v1/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeaders() },
        body: JSON.stringify(message),
        signal: t.abort.signal,
      });
      if (!response.ok) { finishTurn(t, await errorMessage(response)); return; }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = parseSse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) onServerEvent(t, event);
        }
      }
      finishTurn(t, 'the stream ended before the answer was complete');
    } catch (_) {
      finishTurn(t, t.stopped ? null : 'the connection to the service broke');
    }
  }

  // --- chat actions --------------------------------------------------------------------------
  ui.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = ui.prompt.value.trim();
    if (!text || turn) return;
    ui.prompt.value = '';
    const t = startTurn(text);
    const message = { text };
    if (ui.model.value) message.model = ui.model.value;
    if (sessionId) message.session_id = sessionId;
    let sent = false;
    try {
      sent = await sendOverSocket(t, message);
    } catch (_) {
      sent = false;
    }
    if (sent || t.finished) return;
    if (t.stopped) finishTurn(t, null);
    else await sendOverSse(t, message);
  });

  ui.prompt.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ui.form.requestSubmit();
    }
  });

  ui.stop.addEventListener('click', () => {
    const t = turn;
    if (!t || t.finished || t.stopped) return;
    t.stopped = true;
    ui.stop.disabled = true;
    setStatus(ui.chatStatus, 'Stopping…');
    if (t.via === 'ws' && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: 'cancel' }));
      // The server answers a cancel with done or error; a socket that stays silent is closed.
      t.timer = setTimeout(() => { if (!t.finished) { closeSocket(); finishTurn(t, null); } }, CANCEL_GRACE_MS);
    } else if (t.abort) {
      t.abort.abort();
    }
  });

  ui.newChat.addEventListener('click', () => {
    if (turn) ui.stop.click();
    sessionId = null;
    closeSocket();  // the socket remembers its session: a new one starts a new conversation
    ui.transcript.replaceChildren();
    setStatus(ui.chatStatus, 'New conversation.');
    ui.prompt.focus();
  });

  // --- dashboard -----------------------------------------------------------------------------
  const fmtInt = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
  const fmtCost = (s) => (s == null ? '–' : `$${Number(s).toFixed(6)}`);
  const fmtMs = (n) => (n == null ? '–' : Number(n).toFixed(1));
  const pair = (p) => `${fmtMs(p && p.p50)} / ${fmtMs(p && p.p99)}`;

  function row(cells) {
    const tr = document.createElement('tr');
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) cell.scope = 'row';
      cell.textContent = text;
      tr.append(cell);
    });
    return tr;
  }

  function render(snap) {
    const totals = snap.totals || {};
    $('total-requests').textContent = fmtInt(totals.requests);
    $('total-errors').textContent = `${fmtInt(totals.errors)} (stopped: ${fmtInt(totals.cancelled)})`;
    $('total-tokens').textContent = `${fmtInt(totals.input_tokens)} / ${fmtInt(totals.output_tokens)}`;
    $('total-cost').textContent = fmtCost(totals.cost_usd);
    const gauges = snap.gateway || {};
    $('gauge-inflight').textContent = `${fmtInt(gauges.inflight)} / ${fmtInt(gauges.waiting)}`;
    $('gauge-rejected').textContent = fmtInt(gauges.rejected);
    ui.modelsBody.replaceChildren(...Object.entries(snap.models || {}).map(([name, m]) => row([
      name, fmtInt(m.requests), fmtInt(m.errors), fmtInt(m.input_tokens), fmtInt(m.output_tokens),
      fmtCost(m.cost_usd), pair(m.latency_ms), pair(m.ttft_ms),
    ])));
    const errors = snap.recent_errors || [];
    ui.errorsBody.replaceChildren(...errors.map((e) => row([
      new Date(e.time * 1000).toLocaleTimeString(), e.model, String(e.status), e.error_type,
      e.request_id || e.upstream_request_id || '–',
    ])));
    $('errors-table-box').hidden = errors.length === 0;
    $('errors-empty').hidden = errors.length !== 0;
    $('emulator-banner').hidden = snap.emulator !== true;
    setStatus(ui.dashStatus, `Updated ${new Date().toLocaleTimeString()}.`);
  }

  let polling = null;
  async function refreshDashboard() {
    if (polling) return polling;
    polling = (async () => {
      try {
        const response = await fetch('/v1/dashboard', { headers: authHeaders(), cache: 'no-store' });
        if (response.ok) render(await response.json());
        else if (response.status === 401) setStatus(ui.dashStatus, 'Enter a service key to see the dashboard.');
        else if (response.status === 403) setStatus(ui.dashStatus, 'The dashboard is for operator keys (CLAUDE_ARCH_DASHBOARD_KEYS).');
        else setStatus(ui.dashStatus, `Dashboard: ${await errorMessage(response)}`);
      } catch (_) {
        setStatus(ui.dashStatus, 'The service cannot be reached.');
      } finally {
        polling = null;
      }
    })();
    return polling;
  }

  function poll() {
    if (!document.hidden) refreshDashboard();
    setTimeout(poll, POLL_MS);
  }

  loadModels();
  poll();
})();
