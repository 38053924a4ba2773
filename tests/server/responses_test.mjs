// OpenAI's Responses API on `frugal serve`, through the official `openai` client's
// responses.create as an app or agent SDK uses it: plain and streamed (the events in order,
// numbered, the deltas adding up to the final response), instructions and input items,
// reasoning items from an R1-style prompt, function calls (forced, so the random-weight models
// call reliably) and their outputs sent back, JSON output, and errors in OpenAI's shape.
// Greedy output must equal the chat completions endpoint's for the same request.
// Usage: node responses_test.mjs BASE_URL API_KEY FIXTURES_JSON
import { readFileSync } from 'node:fs';
import { check, assert, eq, finish, oracleRequire } from './harness.mjs';

const require = oracleRequire;
const { default: OpenAI } = require('openai');

const [base, key, fixturesPath] = process.argv.slice(2);
const fx = JSON.parse(readFileSync(fixturesPath, 'utf8'));
const M = fx.model, R1 = fx.r1_model;
const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0, timeout: 120000 });
const hello = 'Hello, who are you?';
// Greedy text is compared between requests that all find the prompt in the prefix cache: the
// random-weight test models have near-tied logits, and a prefill from the cache (f16 KV) may
// pick another token than one computed whole.
const warm = (req) => client.responses.create({ ...req, max_output_tokens: 1 });

await check('response: shape, usage, and the same greedy text as chat completions', async () => {
  await warm({ model: M, input: hello, instructions: 'You are terse.' });
  const r = await client.responses.create({ model: M, input: hello, instructions: 'You are terse.', max_output_tokens: 24, temperature: 0 });
  eq(r.object, 'response', 'object');
  assert(/^resp_/.test(r.id), `id ${r.id}`);
  eq(r.model, M, 'model');
  assert(['completed', 'incomplete'].includes(r.status), `status ${r.status}`);
  if (r.status === 'incomplete') eq(r.incomplete_details, { reason: 'max_output_tokens' }, 'incomplete_details');
  const o = await client.chat.completions.create({ model: M, max_tokens: 24, temperature: 0,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: hello }] });
  eq(r.output_text, o.choices[0].message.content || '', 'output_text = chat completions content');
  eq(r.usage.input_tokens, o.usage.prompt_tokens, 'input tokens');
  eq(r.usage.output_tokens, o.usage.completion_tokens, 'output tokens');
  eq(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens, 'total');
  const items = await client.responses.create({ model: M, max_output_tokens: 24, temperature: 0,
    input: [{ role: 'developer', content: 'You are terse.' }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: hello }] }] });
  eq(items.output_text, r.output_text, 'input items = instructions + text');
});

await check('stream: created first, completed last, numbered; the deltas add up to the response', async () => {
  const req = { model: M, input: hello, max_output_tokens: 24, temperature: 0 };
  await warm(req);
  const whole = await client.responses.create(req);
  const stream = await client.responses.create({ ...req, stream: true });
  const types = [];
  let text = '', last = null, seq = -1;
  for await (const e of stream) {
    types.push(e.type);
    assert(e.sequence_number === seq + 1, `sequence ${e.sequence_number} after ${seq}`);
    seq = e.sequence_number;
    if (e.type === 'response.output_text.delta') text += e.delta;
    last = e;
  }
  eq(types[0], 'response.created', 'first event');
  assert(['response.completed', 'response.incomplete'].includes(last.type), `last event ${last.type}`);
  eq(text.trim(), whole.output_text, 'streamed text');
  eq(last.response.status, whole.status, 'status');
  eq(last.response.usage.output_tokens, whole.usage.output_tokens, 'usage');
  const added = types.indexOf('response.output_item.added'), done = types.lastIndexOf('response.output_item.done');
  assert(added > 0 && done > added && done < types.length - 1, `item events in order: ${types}`);
});

await check('reasoning: an R1-style prompt gives a reasoning item, streamed as reasoning_text deltas', async () => {
  const req = { model: R1, input: hello, max_output_tokens: 16, temperature: 0 };
  await warm(req);
  const r = await client.responses.create(req);
  eq(r.output[0].type, 'reasoning', 'first item');
  const thought = r.output[0].content[0].text;
  assert(thought.length > 0, 'reasoning text');
  eq(r.usage.output_tokens_details.reasoning_tokens, 16, 'reasoning tokens');
  const o = await client.chat.completions.create({ model: R1, max_tokens: 16, temperature: 0, messages: [{ role: 'user', content: hello }] });
  eq(thought, o.choices[0].message.reasoning_content, 'reasoning = chat completions reasoning_content');
  let streamed = '';
  for await (const e of await client.responses.create({ ...req, stream: true }))
    if (e.type === 'response.reasoning_text.delta') streamed += e.delta;
  eq(streamed.trim(), thought, 'streamed reasoning');
  const off = await client.responses.create({ ...req, reasoning: { effort: 'none' } });
  assert(off.output.every((i) => i.type !== 'reasoning'), `effort none: no reasoning item: ${JSON.stringify(off.output).slice(0, 200)}`);
});

const weather = {
  type: 'function', name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['C', 'F'] } },
                required: ['city', 'unit'], additionalProperties: false },
};

await check('function calls: a forced call, its output sent back as an item; streamed as arguments events', async () => {
  const input = [{ role: 'user', content: 'Weather in Paris?' }];
  for (const tool_choice of [{ type: 'function', name: 'get_weather' }, 'required']) {
    const r = await client.responses.create({ model: M, input, tools: [weather], tool_choice, max_output_tokens: 400, temperature: 0 });
    const call = r.output.find((i) => i.type === 'function_call');
    assert(call, `no function_call item: ${JSON.stringify(r.output).slice(0, 300)}`);
    eq(call.name, 'get_weather', 'name');
    const args = JSON.parse(call.arguments);
    assert(typeof args.city === 'string' && ['C', 'F'].includes(args.unit), call.arguments);
    assert(/^call_/.test(call.call_id), call.call_id);
    const next = await client.responses.create({ model: M, max_output_tokens: 8, tools: [weather],
      input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp": 21}' }] });
    assert(next.usage.input_tokens > r.usage.input_tokens, 'the call and its output are in the second prompt');
    let streamedArgs = '';
    for await (const e of await client.responses.create({ model: M, input, tools: [weather], tool_choice, max_output_tokens: 400,
                                                          temperature: 0, stream: true }))
      if (e.type === 'response.function_call_arguments.done') streamedArgs = e.arguments;
    eq(streamedArgs, call.arguments, 'streamed arguments');
  }
});

await check('JSON output: text.format json_schema gives JSON that matches', async () => {
  const r = await client.responses.create({ model: M, input: 'A city', max_output_tokens: 200, temperature: 0,
    text: { format: { type: 'json_schema', name: 'city', schema: { type: 'object', properties: { name: { type: 'string', maxLength: 10 } },
                                                                    required: ['name'], additionalProperties: false } } } });
  const v = JSON.parse(r.output_text);
  assert(typeof v.name === 'string', r.output_text);
});

await check('errors: OpenAI shape, 4xx, naming the field', async () => {
  const cases = [
    [{ model: M }, 400, 'input'],
    [{ model: M, input: 3 }, 400, 'input'],
    [{ model: M, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 400, 'input[0].content[0].type'],
    [{ model: M, input: 'hi', previous_response_id: 'resp_x' }, 400, 'previous_response_id'],
    [{ model: M, input: 'hi', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type'],
    [{ model: M, input: [{ type: 'function_call_output', output: 'x' }] }, 400, 'input[0].call_id'],
    [{ model: 'nope', input: 'hi' }, 404, 'model'],
  ];
  for (const [body, status, param] of cases) {
    const r = await fetch(base + '/v1/responses', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: JSON.stringify(body) });
    const j = await r.json();
    eq([r.status, j.error.param], [status, param], JSON.stringify(body));
  }
});

await check('random bodies: only 200 / 400 / 404 / 422 with {"error": ...}, never a 500', async () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const values = [null, true, 0, -1, 3, 1.5, 'x', '', [], {}, [1], ['a'], 'auto', 'required', { type: 'function' },
    { type: 'function', name: 'f' }, [{ role: 'user', content: 'hi' }], [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }],
    [{ type: 'function_call_output', call_id: 'c', output: 'r' }], [{ role: 'user', content: [{ type: 'input_text' }] }],
    [{ type: 'function', name: 'f', parameters: { type: 'object' } }], { format: { type: 'json_object' } }, { format: { type: 'json_schema' } },
    { effort: 'low' }, { effort: 'none' }, { effort: 3 }];
  const fields = ['model', 'input', 'instructions', 'max_output_tokens', 'temperature', 'top_p', 'stream', 'tools', 'tool_choice', 'text',
    'reasoning', 'previous_response_id', 'metadata'];
  const seen = {};
  for (let i = 0; i < 120; i++) {
    const body = { model: M, input: hello, max_output_tokens: 3 };
    for (let k = 0; k < 3; k++) body[pick(fields)] = pick(values);
    if (typeof body.max_output_tokens === 'number' && body.max_output_tokens > 4) body.max_output_tokens = 4;
    const r = await fetch(base + '/v1/responses', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: JSON.stringify(body) });
    const text = await r.text();
    seen[r.status] = (seen[r.status] || 0) + 1;
    assert([200, 400, 404, 422].includes(r.status), `${r.status} for ${JSON.stringify(body)}: ${text.slice(0, 300)}`);
    if (r.status !== 200) assert(JSON.parse(text).error.message, `error shape: ${text.slice(0, 200)}`);
  }
  assert(seen[200] && seen[400], JSON.stringify(seen));
});

finish();
