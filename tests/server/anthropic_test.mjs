// Anthropic's Messages API on `frugal serve`, through the official @anthropic-ai/sdk client as an
// app would use it: plain and streamed messages (the SDK's own event accumulator must rebuild
// the same message), thinking blocks from an R1-style prompt, tool_use / tool_result round
// trips (forced calls, so the random-weight models call reliably), stop sequences, and errors
// in Anthropic's shape. Greedy output must equal the OpenAI endpoint's for the same request.
// Usage: node anthropic_test.mjs BASE_URL API_KEY FIXTURES_JSON
import { readFileSync } from 'node:fs';
import { check, assert, eq, finish, oracleRequire } from './harness.mjs';

const require = oracleRequire;
const { default: Anthropic } = require('@anthropic-ai/sdk');
const { default: OpenAI } = require('openai');

const [base, key, fixturesPath] = process.argv.slice(2);
const fx = JSON.parse(readFileSync(fixturesPath, 'utf8'));
const M = fx.model, R1 = fx.r1_model;
const client = new Anthropic({ baseURL: base + '/anthropic', apiKey: key, maxRetries: 0, timeout: 120000 });
const plain = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 120000 });  // /v1/messages
const openai = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0, timeout: 120000 });

async function raw(pathname, body, headers = { 'x-api-key': key }) {
  const r = await fetch(base + pathname, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, json: JSON.parse(await r.text()) };
}
const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
// Streamed text keeps the whitespace around an answer that the whole message trims (as
// chat completions' deltas do): blocks compared trimmed, empty ones dropped.
const norm = (content) => content.map((b) => (b.type === 'text' ? { type: 'text', text: b.text.trim() }
  : b.type === 'thinking' ? { type: 'thinking', thinking: b.thinking.trim() } : { type: b.type, name: b.name, input: b.input }))
  .filter((b) => b.type === 'tool_use' || (b.text ?? b.thinking) !== '');
const hello = [{ role: 'user', content: 'Hello, who are you?' }];

await check('message: shape, usage, and the same greedy text as chat completions', async () => {
  const system = 'You are terse.';
  const m = await client.messages.create({ model: M, max_tokens: 24, temperature: 0, system, messages: hello });
  eq(m.type, 'message', 'type');
  eq(m.role, 'assistant', 'role');
  eq(m.model, M, 'model');
  assert(/^msg_/.test(m.id), `id ${m.id}`);
  assert(['end_turn', 'max_tokens'].includes(m.stop_reason), `stop_reason ${m.stop_reason}`);
  assert(m.usage.input_tokens > 0 && m.usage.output_tokens > 0 && m.usage.output_tokens <= 24, JSON.stringify(m.usage));
  const o = await openai.chat.completions.create({ model: M, max_tokens: 24, temperature: 0,
    messages: [{ role: 'system', content: system }, ...hello] });
  eq(textOf(m), o.choices[0].message.content || '', 'text = chat completions content');
  eq(m.usage.input_tokens + m.usage.cache_read_input_tokens, o.usage.prompt_tokens, 'prompt tokens');
  const p = await plain.messages.create({ model: M, max_tokens: 24, temperature: 0, system: [{ type: 'text', text: system }], messages: hello });
  eq(textOf(p), textOf(m), '/v1/messages with system blocks = /anthropic/v1/messages');
});

await check('stream: events in Anthropic order; the SDK rebuilds the same message', async () => {
  const req = { model: M, max_tokens: 24, temperature: 0, messages: hello };
  const m = await client.messages.create(req);
  const stream = client.messages.stream(req);
  const types = [];
  stream.on('streamEvent', (e) => types.push(e.type));
  const final = await stream.finalMessage();
  eq(norm(final.content), norm(m.content), 'content');
  eq(final.stop_reason, m.stop_reason, 'stop_reason');
  eq(final.usage.output_tokens, m.usage.output_tokens, 'output_tokens');
  eq(types[0], 'message_start', 'first event');
  eq(types.slice(-2), ['message_delta', 'message_stop'], 'last events');
  const blocks = types.filter((t) => t.startsWith('content_block'));
  for (let i = 0; i < blocks.length; i++) {  // start, delta*, stop per block
    if (blocks[i] === 'content_block_start') assert(i === 0 || blocks[i - 1] === 'content_block_stop', `order ${blocks}`);
  }
});

await check('thinking: an R1-style prompt gives a thinking block, streamed as thinking_delta', async () => {
  const req = { model: R1, max_tokens: 16, temperature: 0, messages: hello };
  const m = await client.messages.create(req);
  eq(m.content[0].type, 'thinking', 'first block');
  assert(m.content[0].thinking.length > 0, 'thinking text');
  eq(m.stop_reason, 'max_tokens', 'stop_reason');
  let thinking = '';
  const stream = client.messages.stream(req);
  stream.on('streamEvent', (e) => {
    if (e.type === 'content_block_delta' && e.delta.type === 'thinking_delta') thinking += e.delta.thinking;
  });
  await stream.finalMessage();
  eq(thinking.trim(), m.content[0].thinking, 'streamed thinking');
  const on = await client.messages.create({ ...req, thinking: { type: 'enabled', budget_tokens: 1024 } });
  eq(on.content, m.content, 'thinking enabled (this template always thinks)');
});

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['C', 'F'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
};
await check('tools: a forced tool_use block, its tool_result sent back, streamed as input_json_delta', async () => {
  const msgs = [{ role: 'user', content: 'Weather in Paris?' }];
  for (const tool_choice of [{ type: 'tool', name: 'get_weather' }, { type: 'any' }]) {
    const m = await client.messages.create({ model: M, max_tokens: 400, temperature: 0, tools: [weather], tool_choice, messages: msgs });
    eq(m.stop_reason, 'tool_use', 'stop_reason');
    const use = m.content.find((b) => b.type === 'tool_use');
    assert(use, `no tool_use block: ${JSON.stringify(m.content)}`);
    eq(use.name, 'get_weather', 'name');
    eq(Object.keys(use.input).sort(), ['city', 'unit'], 'input keys');
    assert(['C', 'F'].includes(use.input.unit), 'unit');
    const r2 = await client.messages.create({
      model: M, max_tokens: 8, tools: [weather], messages: [...msgs, { role: 'assistant', content: m.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp": 21}' }, { type: 'text', text: 'Thanks' }] }],
    });
    assert(r2.usage.input_tokens + r2.usage.cache_read_input_tokens > m.usage.input_tokens + m.usage.cache_read_input_tokens,
      'the tool result is in the second prompt');
    const stream = client.messages.stream({ model: M, max_tokens: 400, temperature: 0, tools: [weather], tool_choice, messages: msgs });
    let json = '';
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') json += e.delta.partial_json;
    });
    const final = await stream.finalMessage();
    eq(JSON.parse(json), use.input, 'streamed input');
    eq(final.content.find((b) => b.type === 'tool_use').input, use.input, 'SDK-accumulated input');
  }
});

await check('stop_sequences: stop_reason stop_sequence, naming the sequence', async () => {
  const req = { model: M, max_tokens: 24, temperature: 0, messages: hello };
  const text = textOf(await client.messages.create(req));
  assert(text.length >= 8, `greedy text too short to cut: ${JSON.stringify(text)}`);
  const stop = text.slice(4, 7);
  const m = await client.messages.create({ ...req, stop_sequences: ['never-appears', stop] });
  eq(m.stop_reason, 'stop_sequence', 'stop_reason');
  eq(m.stop_sequence, stop, 'stop_sequence');
  eq(textOf(m), text.slice(0, text.indexOf(stop)).trim(), 'text before the stop');
});

await check('errors: Anthropic\'s shape and status, naming the field', async () => {
  const cases = [
    [{ model: M, max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] },
      400, 'invalid_request_error', 'messages[0].content[0].type'],
    [{ model: M, messages: hello }, 400, 'invalid_request_error', 'max_tokens'],
    [{ model: M, max_tokens: 8, messages: [{ role: 5, content: 'x' }] }, 400, 'invalid_request_error', 'messages[0].role'],
    [{ model: M, max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] }, 400, 'invalid_request_error',
      'messages[0].content[0].tool_use_id'],
    [{ model: M, max_tokens: 8, messages: hello, tools: [{ name: 'f' }] }, 400, 'invalid_request_error', 'tools[0].input_schema'],
    [{ model: 'claude-nope', max_tokens: 8, messages: hello }, 404, 'not_found_error', 'claude-nope'],
    ['{"model": ', 400, 'invalid_request_error', 'JSON'],
  ];
  for (const [body, status, type, needle] of cases) {
    const r = await raw('/anthropic/v1/messages', body);
    eq(r.status, status, `status for ${JSON.stringify(body)}`);
    eq(r.json.type, 'error', 'envelope');
    eq(r.json.error.type, type, 'error type');
    assert(r.json.error.message.includes(needle), `message does not name ${needle}: ${r.json.error.message}`);
  }
  const r = await raw('/v1/messages', { model: M, max_tokens: 8, messages: hello }, {});
  eq([r.status, r.json.error.type], [401, 'authentication_error'], 'no key');
  let caught = null;
  try { await client.messages.create({ model: M, max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'document' }] }] }); } catch (e) { caught = e; }
  assert(caught && caught.status === 400 && caught.constructor.name === 'BadRequestError', `SDK error: ${caught}`);
});

await check('random bodies: only 200 / 400 / 404 / 422, in Anthropic\'s error shape, never a 500', async () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const values = [null, true, 0, -1, 3, 1.5, 'x', '', [], {}, [1], ['a'], { type: 'auto' }, { type: 'tool' }, { type: 'enabled' },
    [{ role: 'user', content: 'hi' }], [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'f', input: {} }] }],
    [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: [{ type: 'text', text: 'r' }] }] }],
    [{ role: 'user', content: [{ type: 'text' }] }], [{ role: 'system', content: 'x' }], [{ name: 'f', input_schema: { type: 'object' } }],
    [{ type: 'text', text: 's' }], [{ role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: '' }, { type: 'text', text: 'a' }] }]];
  const fields = ['model', 'messages', 'max_tokens', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools',
    'tool_choice', 'thinking', 'metadata'];
  const seen = {};
  for (let i = 0; i < 120; i++) {
    const body = { model: M, messages: hello, max_tokens: 3 };
    for (let k = 0; k < 3; k++) body[pick(fields)] = pick(values);
    if (typeof body.max_tokens === 'number' && body.max_tokens > 4) body.max_tokens = 4;
    const r = await fetch(base + '/v1/messages', { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(body) });
    const text = await r.text();
    seen[r.status] = (seen[r.status] || 0) + 1;
    assert([200, 400, 404, 422].includes(r.status), `${r.status} for ${JSON.stringify(body)}: ${text.slice(0, 300)}`);
    if (r.status !== 200) {
      const e = JSON.parse(text);
      assert(e.type === 'error' && e.error.type && e.error.message, `error shape: ${text.slice(0, 200)}`);
    }
  }
  assert(seen[200] && seen[400], JSON.stringify(seen));
});

finish();
