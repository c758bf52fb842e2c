// The official TypeScript SDK, unchanged, against an Anthropic-compatible server.
//
//   node check.mjs http://127.0.0.1:4010 sk-ant-key claude-haiku-4-5
//
// Prints one JSON object (create, stream, count_tokens, a typed error) for the Python test to
// assert on; every call carries an x-sdk-case header so the server's log can tell them apart.
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0 });
const hello = [{ role: 'user', content: 'Hello' }];
const tagged = (name) => ({ headers: { 'x-sdk-case': name } });

const created = await client.messages.create(
  { model, max_tokens: 64, messages: hello },
  tagged('ts_create'),
);

const stream = client.messages.stream({ model, max_tokens: 64, messages: hello }, tagged('ts_stream'));
const pieces = [];
const events = [];
stream.on('text', (text) => pieces.push(text));
stream.on('streamEvent', (event) => events.push(event.type));
const final = await stream.finalMessage();

const counted = await client.messages.countTokens(
  { model, messages: hello },
  tagged('ts_count_tokens'),
);

let error = null;
try {
  await client.messages.create(
    { model: 'claude-haiku-4-20250514', max_tokens: 16, messages: hello },
    tagged('ts_404'),
  );
} catch (err) {
  error = {
    notFound: err instanceof Anthropic.NotFoundError,
    status: err.status,
    requestID: err.requestID ?? null,
    type: err.error?.error?.type ?? null,
  };
}

console.log(
  JSON.stringify({
    create: {
      id: created.id,
      stopReason: created.stop_reason,
      content: created.content,
      inputTokens: created.usage.input_tokens,
    },
    stream: { text: pieces.join(''), events, final: final.content, stopReason: final.stop_reason },
    countedInputTokens: counted.input_tokens,
    error,
  }),
);
