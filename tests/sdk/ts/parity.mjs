// The official TypeScript SDK through each parity case (test_stream_parity.py).
//
//   node parity.mjs '{"url": "...", "key": "...", "model": "...", "cases": {"name": {...}}}'
//
// For every case (a Messages request without `model`): the JSON answer, the raw events of
// `messages.create({stream: true})` and the final message of the `messages.stream()` helper,
// printed as one JSON object; a case that throws is reported as {"unexpected": "..."}.
import Anthropic from '@anthropic-ai/sdk';

const spec = JSON.parse(process.argv[2]);
const client = new Anthropic({ baseURL: spec.url, apiKey: spec.key, maxRetries: 0 });

async function runCase(params) {
  const created = await client.messages.create(params);
  const rawEvents = [];
  for await (const event of await client.messages.create({ ...params, stream: true })) {
    rawEvents.push({ event: event.type, data: event });
  }
  const helper = client.messages.stream(params);
  const helperTypes = new Set();
  helper.on('streamEvent', (event) => helperTypes.add(event.type));
  const final = await helper.finalMessage();
  return {
    json: created,
    raw_events: rawEvents,
    stream_final: final,
    helper_event_types: [...helperTypes].sort(),
  };
}

const report = { cases: {} };
for (const [name, params] of Object.entries(spec.cases)) {
  try {
    report.cases[name] = await runCase({ model: spec.model, ...params });
  } catch (err) {
    report.cases[name] = { unexpected: String(err?.stack ?? err) };
  }
}
process.stdout.write(JSON.stringify(report));
