// The "Choose" view: the workload profile as a form; on every edit the profile goes to
// POST /v1/advise and the recommendation, costs and capacity are redrawn from its answer.
// The service key is the page's own (#key). Network text reaches the DOM only as textContent.
'use strict';

(() => {
  const DEBOUNCE_MS = 250;
  const NUMBERS = new Set([
    'traffic.mean_rpm', 'traffic.peak_rpm', 'traffic.burst_minutes', 'traffic.steps_per_request',
    'tokens.input.p50', 'tokens.input.p95', 'tokens.output.p50', 'tokens.output.p95',
    'tokens.cached_prefix_share', 'latency.ttft_ms', 'latency.total_s', 'budget_usd_per_month',
    'teams_sharing_org',
  ]);
  const LISTS = new Set(['models', 'users.regions']);

  const $ = (id) => document.getElementById(id);
  const form = $('profile-form');
  if (!form) return;
  const ui = {
    status: $('choose-status'), pick: $('choose-pick'), reasons: $('choose-reasons'),
    capacity: $('choose-capacity'), body: $('variants-body'), key: $('key'),
  };
  let timer = null;
  let asked = 0;   // answers to older edits arriving late are dropped

  // Every non-empty field, at its dotted path; empty optional fields are left out.
  function profile() {
    const out = { name: 'from the page' };
    for (const el of form.elements) {
      if (!el.name) continue;
      let value;
      if (el.type === 'checkbox') value = el.checked;
      else if (el.value.trim() === '') continue;
      else if (NUMBERS.has(el.name)) value = Number(el.value);
      else if (LISTS.has(el.name)) value = el.value.split(',').map((s) => s.trim()).filter(Boolean);
      else value = el.value.trim();
      const path = el.name.split('.');
      let node = out;
      for (const part of path.slice(0, -1)) node = node[part] = node[part] || {};
      node[path[path.length - 1]] = value;
    }
    return out;
  }

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  const money = (n) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  // a duration from milliseconds, in the unit that reads best (a batch's is hours)
  function duration(ms) {
    const s = ms / 1000;
    if (s < 10) return `${Math.round(ms).toLocaleString('en-US')} ms`;
    if (s < 600) return `${s.toFixed(1)} s`;
    if (s < 3 * 3600) return `${(s / 60).toFixed(0)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  function markInvalid(field) {
    for (const el of form.elements) {
      if (!el.name) continue;
      const bad = field !== null && (el.name === field || field.startsWith(`${el.name}.`));
      if (bad) el.setAttribute('aria-invalid', 'true');
      else el.removeAttribute('aria-invalid');
    }
  }

  function capacityItem(label, value) {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = label;
    dd.textContent = value;
    div.append(dt, dd);
    ui.capacity.appendChild(div);
  }

  function render(advice) {
    ui.status.classList.remove('bad');
    ui.status.textContent = advice.fit ? '' : 'No variant fits every target; the least bad one:';
    ui.pick.textContent = `Recommended: ${advice.recommended} (runner-up: ${advice.runner_up})`;
    ui.reasons.replaceChildren(...advice.reasons.map((reason) => {
      const li = document.createElement('li');
      li.textContent = reason;
      return li;
    }));
    if (advice.capacity_note) {
      const li = document.createElement('li');
      li.textContent = `capacity: ${advice.capacity_note}`;
      ui.reasons.appendChild(li);
    }
    ui.capacity.replaceChildren();
    const plan = advice.plan;
    capacityItem('Bill $/month', money(plan.bill_usd));
    capacityItem('Calls in flight at peak', String(plan.concurrent_calls));
    if (plan.replicas) capacityItem('Service replicas', String(plan.replicas));
    if (plan.workers) capacityItem('Queue workers', String(plan.workers));
    if (plan.lambda_concurrency) capacityItem('Lambda concurrency', String(plan.lambda_concurrency));
    const cap = plan.capacity;
    if (cap) capacityItem('Tier holds it', cap.fits ? 'yes' : (cap.needs_tier || 'no tier'));
    ui.body.replaceChildren(...advice.variants.map((v) => {
      const row = document.createElement('tr');
      if (v.id === advice.recommended) row.className = 'recommended';
      else if (!v.fit) row.className = 'unfit';
      cell(row, v.id);
      cell(row, v.fit ? 'yes' : 'no');
      cell(row, duration(v.latency.ttft_p95_ms));
      cell(row, duration(v.latency.total_p95_s * 1000));
      cell(row, money(v.cost.bill_usd));
      cell(row, money(v.cost.total_usd));
      const c = v.capacity;
      cell(row, c === null ? '-' : c.fits ? 'holds' : (c.needs_tier || 'no tier'));
      row.title = v.problems.join('; ');
      return row;
    }));
  }

  async function ask() {
    const mine = ++asked;
    const headers = { 'content-type': 'application/json' };
    const key = ui.key ? ui.key.value.trim() : '';
    if (key) headers['x-api-key'] = key;
    let response;
    try {
      response = await fetch('/v1/advise', {
        method: 'POST', headers, body: JSON.stringify(profile()),
      });
    } catch (_) {
      if (mine === asked) ui.status.textContent = 'The service cannot be reached.';
      return;
    }
    const body = await response.json().catch(() => null);
    if (mine !== asked) return;
    if (response.ok && body) {
      markInvalid(null);
      render(body);
      return;
    }
    const message = (body && body.error && body.error.message) || `${response.status}`;
    ui.status.classList.add('bad');
    ui.status.textContent = message;
    // a refused profile names its field first: "tokens.output.p95: must be at least p50 (350)"
    markInvalid(response.status === 400 ? message.split(':')[0] : null);
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(ask, DEBOUNCE_MS);
  }

  form.addEventListener('input', soon);
  form.addEventListener('change', soon);
  form.addEventListener('submit', (ev) => ev.preventDefault());
  if (ui.key) ui.key.addEventListener('change', soon);
  ask();
})();
