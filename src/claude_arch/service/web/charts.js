// The dashboard's charts (uPlot, vendored under /static/vendor/uplot/) and each key's spend
// against its budget, from GET /v1/dashboard/series: the last hour, one point a minute.
// The service key is the page's own (#key). Network text reaches the DOM only as textContent.
'use strict';

(() => {
  const POLL_MS = 5000;
  const HEIGHT = 170;
  const COLORS = [
    '#8a4b2a', '#1f6fb2', '#2e8540', '#b3261e', '#6a4c93', '#c77c02',
    '#00838f', '#5c5c57', '#d81b60', '#33691e', '#283593', '#795548',
  ];
  const $ = (id) => document.getElementById(id);
  const keyInput = $('key');
  if (!keyInput || typeof window.uPlot !== 'function') return;

  const charts = {};  // figure id -> {plot, signature}
  const authHeaders = () => (keyInput.value.trim() ? { 'x-api-key': keyInput.value.trim() } : {});
  const setStatus = (text) => { $('charts-status').textContent = text; };

  // {name: [values]} (or {name: {p50, p99}}) as uPlot series and data columns
  function lines(rows, percentiles) {
    const series = [];
    const columns = [];
    Object.entries(rows).forEach(([name, values], i) => {
      const stroke = COLORS[i % COLORS.length];
      if (percentiles) {
        series.push({ label: `${name} p50`, stroke, width: 2 });
        series.push({ label: `${name} p99`, stroke, width: 1, dash: [6, 4] });
        columns.push(values.p50, values.p99);
      } else {
        series.push({ label: name, stroke, width: 2 });
        columns.push(values);
      }
    });
    return { series, columns };
  }

  function draw(id, times, rows, percentiles) {
    const figure = $(id);
    const { series, columns } = lines(rows, percentiles);
    const points = columns.reduce((n, col) => n + col.filter((v) => v != null).length, 0);
    figure.dataset.points = String(points);
    figure.dataset.series = String(series.length);
    const data = [times, ...columns];
    const signature = series.map((s) => s.label).join('\n');
    const current = charts[id];
    if (current && current.signature === signature) {
      current.plot.setData(data);
      return;
    }
    if (current) current.plot.destroy();
    const holder = figure.querySelector('.plot');
    const plot = new window.uPlot({
      width: Math.max(120, holder.clientWidth),
      height: HEIGHT,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [
        {},
        ...series.map((s) => ({ ...s, spanGaps: false, points: { show: true, size: 5 } })),
      ],
      axes: [{}, { size: 56 }],
    }, data, holder);
    charts[id] = { plot, signature };
  }

  // Charts follow their figure's width: the page has no horizontal scroll at any size.
  const resize = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = charts[entry.target.parentElement.id];
      const width = Math.floor(entry.contentRect.width);
      if (chart && width > 0 && Math.abs(chart.plot.width - width) > 1) {
        chart.plot.setSize({ width, height: HEIGHT });
      }
    }
  });
  document.querySelectorAll('.chart').forEach((figure) => {
    const holder = document.createElement('div');
    holder.className = 'plot';
    figure.append(holder);
    resize.observe(holder);
  });

  function money(value) {
    return value == null ? '–' : `$${Number(value).toFixed(4)}`;
  }

  function renderKeys(keys) {
    const body = $('keys-body');
    body.replaceChildren(...keys.map((k) => {
      const tr = document.createElement('tr');
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = k.name;
      name.title = k.id;
      const spent = document.createElement('td');
      spent.textContent = money(k.spent_usd);
      const budget = document.createElement('td');
      budget.textContent = k.budget_usd == null ? 'none' : `${money(k.budget_usd)}/${k.period}`;
      const used = document.createElement('td');
      used.className = 'bar-col';
      if (k.budget_usd != null && k.spent_usd != null) {
        const meter = document.createElement('meter');
        meter.min = 0;
        meter.max = Number(k.budget_usd);
        meter.high = Number(k.budget_usd) * 0.8;
        meter.value = Number(k.spent_usd);
        const share = Number(k.budget_usd) > 0 ? Number(k.spent_usd) / Number(k.budget_usd) : 0;
        meter.textContent = `${(share * 100).toFixed(1)}%`;
        const label = document.createElement('span');
        label.textContent = ` ${(share * 100).toFixed(1)}%`;
        used.append(meter, label);
      } else {
        used.textContent = '–';
      }
      tr.append(name, spent, budget, used);
      return tr;
    }));
    $('keys-table-box').hidden = keys.length === 0;
    $('keys-empty').hidden = keys.length !== 0;
  }

  function render(body) {
    const times = body.times || [];
    draw('chart-requests', times, body.requests_per_s || {}, false);
    draw('chart-errors', times, body.errors_per_s || {}, false);
    draw('chart-latency', times, body.latency_ms || {}, true);
    draw('chart-ttft', times, body.ttft_ms || {}, true);
    draw('chart-tokens', times, body.tokens_per_s || {}, false);
    draw('chart-cost', times, body.cost_usd_per_min || {}, false);
    renderKeys(body.keys || []);
    setStatus('');
  }

  let loading = null;
  function refresh() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const response = await fetch('/v1/dashboard/series?minutes=60', {
          headers: authHeaders(), cache: 'no-store',
        });
        if (response.ok) render(await response.json());
        else if (response.status === 401 || response.status === 403) setStatus('');
        else setStatus(`Charts: ${response.status} ${response.statusText}`);
      } catch (_) {
        setStatus('The service cannot be reached.');
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  keyInput.addEventListener('change', refresh);
  document.addEventListener('claude-arch:turn-finished', refresh);
  function poll() {
    if (!document.hidden) refresh();
    setTimeout(poll, POLL_MS);
  }
  poll();
})();
