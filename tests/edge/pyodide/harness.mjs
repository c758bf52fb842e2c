// The edge worker under real Pyodide in Node, with the Workers API it uses stood in for:
// `workers` (workers_shim.py), `js` (Pyodide's own: Node's fetch, Request, Response, Headers),
// a KV binding (EDGE_KV) with KV's expirationTtl rule, `caches.default` honouring max-age, and
// ctx.waitUntil.
//
//   node harness.mjs serve CONFIG.json   prints "READY <url>", serves until killed
//   node harness.mjs bench CONFIG.json   prints one JSON object of per-request timings
//
// CONFIG: {"worker": dir with entry.py and claude_arch/, "shim": workers_shim.py,
//          "env": {name: string}, "kv": {key: value}, "n": bench iterations}
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { loadPyodide } from "pyodide";

const KV_MIN_TTL_S = 60;

function makeKV(entries) {
  const data = new Map(Object.entries(entries || {}).map(([k, v]) => [k, { v, exp: null }]));
  return {
    async get(key) {
      const entry = data.get(key);
      if (!entry) return null;
      if (entry.exp !== null && entry.exp <= Date.now()) {
        data.delete(key);
        return null;
      }
      return entry.v;
    },
    async put(key, value, options) {
      const ttl = options ? options.expirationTtl : undefined;
      if (ttl !== undefined && !(ttl >= KV_MIN_TTL_S)) {
        throw new Error(`KV PUT failed: 400 Invalid expiration_ttl of ${ttl}`);
      }
      if (typeof value !== "string") throw new Error("KV PUT: this stand-in stores strings only");
      data.set(key, { v: value, exp: ttl === undefined ? null : Date.now() + ttl * 1000 });
    },
  };
}

function makeCaches() {
  const store = new Map();
  const urlOf = (request) => (typeof request === "string" ? request : request.url);
  return {
    default: {
      async match(request) {
        const entry = store.get(urlOf(request));
        if (!entry) return undefined;
        if (entry.exp <= Date.now()) {
          store.delete(urlOf(request));
          return undefined;
        }
        return new Response(entry.body.slice(0), { status: entry.status, headers: entry.headers });
      },
      async put(request, response) {
        const url = new URL(urlOf(request));
        if (!url.protocol.startsWith("http")) throw new TypeError("Cache.put: URL must be http(s)");
        if (response.status === 206) throw new TypeError("Cache.put: 206 is not cacheable");
        const maxAge = /max-age=(\d+)/.exec(response.headers.get("cache-control") || "");
        const body = await response.arrayBuffer();
        store.set(url.href, {
          body,
          status: response.status,
          headers: [...response.headers],
          exp: Date.now() + (maxAge ? Number(maxAge[1]) * 1000 : 0),
        });
      },
    },
  };
}

function copyTree(pyodide, from, to) {
  pyodide.FS.mkdirTree(to);
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(pyodide, source, `${to}/${entry.name}`);
    else if (entry.name.endsWith(".py")) pyodide.FS.writeFile(`${to}/${entry.name}`, fs.readFileSync(source));
  }
}

async function boot(config) {
  const pyodide = await loadPyodide();
  copyTree(pyodide, config.worker, "/worker");
  pyodide.FS.mkdirTree("/shim");
  pyodide.FS.writeFile("/shim/workers.py", fs.readFileSync(config.shim));
  globalThis.caches = makeCaches();
  const env = { ...(config.env || {}), EDGE_KV: makeKV(config.kv) };
  await pyodide.runPythonAsync(`
import sys
sys.path[:0] = ["/worker", "/shim"]
import workers
import entry

async def handle(js_request, env, ctx):
    instance = entry.Default(ctx, env)
    response = await instance.fetch(workers.Request(js_request))
    return response.js_object
`);
  const handle = pyodide.globals.get("handle");
  const pending = new Set();
  const ctx = {
    waitUntil(promise) {
      const tracked = Promise.resolve(promise).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
  return {
    pyodide,
    handle: (request) => handle(request, env, ctx),
    settle: () => Promise.all([...pending]),
  };
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host", "expect"]);

async function serve(config) {
  const worker = await boot(config);
  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name)) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const init = { method: req.method, headers };
      if (req.method !== "GET" && req.method !== "HEAD") init.body = Buffer.concat(chunks);
      const response = await worker.handle(new Request(`http://${req.headers.host}${req.url}`, init));
      const out = {};
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      res.writeHead(response.status, out);
      if (response.body) {
        // each chunk as the worker's stream yields it: an SSE event reaches the client at once
        for await (const chunk of response.body) res.write(chunk);
      }
      res.end();
      await worker.settle();
    } catch (error) {
      console.error("harness: the worker failed:", error);
      if (!res.headersSent) res.writeHead(599);
      res.end();
    }
  });
  server.listen(0, "127.0.0.1", () => {
    console.log(`READY http://127.0.0.1:${server.address().port}`);
  });
}

// --- bench: the worker's own time per request, upstream answered in-process -------------------
const MESSAGE = {
  id: "msg_01bench",
  type: "message",
  role: "assistant",
  model: "claude-haiku-4-5",
  content: [{ type: "text", text: "a cached answer" }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 4 },
};

function sseBody() {
  const events = [
    ["message_start", { type: "message_start", message: { ...MESSAGE, content: [], stop_reason: null } }],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hi" } }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 1 } }],
    ["message_stop", { type: "message_stop" }],
  ];
  const text = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
  return new Response(text).body;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(worker, makeRequest, n, drain) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < n; i++) {
    const request = makeRequest();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const response = await worker.handle(request);
    const t1 = performance.now();
    const used = process.cpuUsage(cpu0);
    if (drain) await response.arrayBuffer();
    await worker.settle();
    wall.push(t1 - t0);
    cpu.push((used.user + used.system) / 1000);
  }
  const summary = (xs) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), min: Math.min(...xs) });
  return { wall_ms: summary(wall), cpu_ms: summary(cpu), n };
}

async function bench(config) {
  const bootStart = performance.now();
  const worker = await boot(config);
  const bootMs = performance.now() - bootStart;
  globalThis.fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    if (body.stream) {
      return new Response(sseBody(), { headers: { "content-type": "text/event-stream", "request-id": "req_bench" } });
    }
    return new Response(JSON.stringify(MESSAGE), { headers: { "content-type": "application/json", "request-id": "req_bench" } });
  };
  const secret = config.secret;
  const make = (params, extra = {}) => () =>
    new Request("http://edge.bench/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": secret, "anthropic-version": "2023-06-01", ...extra },
      body: JSON.stringify(params),
    });
  const base = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user", content: "What is an edge worker?" }] };
  const n = config.n || 200;
  // warm: the first request of an isolate imports the core and reads the key
  await timed(worker, make(base), 20, true);
  const result = {
    pyodide_boot_ms: bootMs,
    cached_hit: await timed(worker, make(base), n, true),
    stream_start: await timed(worker, make({ ...base, stream: true }), n, true),
    cache_bypass: await timed(worker, make(base, { "cache-control": "no-store" }), n, true),
    refused_401: await timed(worker, make(base, { "x-api-key": "sk-ca-wrong" }), n, true),
  };
  console.log(JSON.stringify(result));
}

const [mode, configPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
if (mode === "serve") await serve(config);
else if (mode === "bench") await bench(config);
else {
  console.error("usage: node harness.mjs serve|bench CONFIG.json");
  process.exit(2);
}
