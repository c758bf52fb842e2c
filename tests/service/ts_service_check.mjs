// The official TypeScript SDK, unchanged, against the claude-arch service.
//
//   node ts_service_check.mjs URL KEY LIMITED_KEY MODEL OVERSIZED_CHARS
//
// Run from the cached SDK directory (tests/service/test_sdk_through_service.py copies it there).
// Prints one JSON object: create, a text stream, a tool-use stream, count_tokens, and the typed
// errors of the service's own refusals (401 bad key, 429 key limit, 413 body limit, 400 bad field).
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, apiKey, limitedKey, model, oversizedChars] = process.argv.slice(2);
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0 });
const hello = [{ role: 'user', content: 'Hello' }];
const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const created = await client.messages.create({ model, max_tokens: 64, messages: hello });

const stream = client.messages.stream({ model, max_tokens: 64, messages: hello });
const pieces = [];
const events = [];
stream.on('text', (text) => pieces.push(text));
stream.on('streamEvent', (event) => events.push(event.type));
const final = await stream.finalMessage();

const toolFinal = await client.messages
  .stream({
    model,
    max_tokens: 512,
    tools: [weather],
    tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  })
  .finalMessage();

const counted = await client.messages.countTokens({ model, messages: hello });

const classes = [
  'BadRequestError',
  'AuthenticationError',
  'ContentTooLargeError',
  'RateLimitError',
  'APIError',
  'InternalServerError',
];
async function failure(sdk, params) {
  try {
    await sdk.messages.create({ model, max_tokens: 16, messages: hello, ...params });
    return null;
  } catch (err) {
    return {
      is: classes.filter((cls) => err instanceof Anthropic[cls]),
      status: err.status,
      requestID: err.requestID ?? null,
      type: err.error?.error?.type ?? null,
    };
  }
}
const wrongKey = new Anthropic({ baseURL, apiKey: 'sk-ca-not-a-key', maxRetries: 0 });
const limited = new Anthropic({ baseURL, apiKey: limitedKey, maxRetries: 0 });
const limitedFirst = await limited.messages.create({ model, max_tokens: 16, messages: hello });
const errors = {
  400: await failure(client, { messages: [{ role: 'user', content: [{ type: 'not_a_block' }] }] }),
  401: await failure(wrongKey, {}),
  413: await failure(client, {
    messages: [{ role: 'user', content: 'x'.repeat(Number(oversizedChars)) }],
  }),
  429: await failure(limited, {}),
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
    toolUse: { content: toolFinal.content, stopReason: toolFinal.stop_reason },
    countedInputTokens: counted.input_tokens,
    limitedFirst: limitedFirst.stop_reason,
    errors,
  }),
);
