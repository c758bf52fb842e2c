// The official TypeScript SDK, unchanged, against an Anthropic-compatible server.
//
//   node check.mjs URL KEY MODEL RATE_LIMITED_MODEL OVERLOADED_MODEL
//
// Prints one JSON object (create, stream, count_tokens, typed errors) for the Python test to
// assert on; every call carries an x-sdk-case header so the server's log can tell them apart.
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, apiKey, model, rateLimitedModel, overloadedModel] = process.argv.slice(2);
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

// The typed error a call fails with: its class (as the SDK names it), status and request ID.
async function failure(name, params) {
  try {
    await client.messages.create({ max_tokens: 16, messages: hello, ...params }, tagged(name));
    return null;
  } catch (err) {
    const classes = ['NotFoundError', 'RateLimitError', 'OverloadedError', 'InternalServerError'];
    return {
      is: classes.filter((cls) => err instanceof Anthropic[cls]),
      status: err.status,
      requestID: err.requestID ?? null,
      type: err.error?.error?.type ?? null,
    };
  }
}
const errors = {
  404: await failure('ts_404', { model: 'claude-haiku-4-20250514' }),
  429: await failure('ts_429', { model: rateLimitedModel }),
  529: await failure('ts_529', { model: overloadedModel }),
};

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
    errors,
  }),
);
