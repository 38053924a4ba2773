// Ollama's API on `frugal serve`, through the official `ollama` npm client as an app would use
// it: list / ps / show / version, chat and generate (plain and streamed NDJSON), thinking,
// JSON-schema format, tool-call history without ids, raw prompts, load / unload requests, and
// errors as {"error": ...}. Greedy output must equal the OpenAI endpoints' for the same request.
// Usage: node ollama_test.mjs BASE_URL API_KEY FIXTURES_JSON
import { readFileSync } from 'node:fs';
import { check, assert, eq, finish, oracleRequire } from './harness.mjs';

const require = oracleRequire;
const { Ollama } = require('ollama');
const { default: OpenAI } = require('openai');

const [base, key, fixturesPath] = process.argv.slice(2);
const fx = JSON.parse(readFileSync(fixturesPath, 'utf8'));
const M = fx.model, R1 = fx.r1_model;
const ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${key}` } });
const openai = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0, timeout: 120000 });

const hello = [{ role: 'user', content: 'Hello, who are you?' }];
const greedy = { temperature: 0, num_predict: 24 };

await check('list, ps, show, version', async () => {
  const tags = await ollama.list();
  const names = tags.models.map((m) => m.name);
  assert(names.includes(M) && names.includes(R1), `names ${names}`);
  const m = tags.models.find((x) => x.name === M);
  assert(m.size > 0 && /^[0-9a-f]{16}$/.test(m.digest) && !Number.isNaN(Date.parse(m.modified_at)), JSON.stringify(m));
  eq(m.details.format, 'gguf', 'format');
  assert(/^[0-9.]+[MB]$/.test(m.details.parameter_size), m.details.parameter_size);
  const ps = await ollama.ps();
  const p = ps.models.find((x) => x.name === M);
  assert(p && Date.parse(p.expires_at) > Date.now(), JSON.stringify(p));
  const show = await ollama.show({ model: M });
  assert(show.template.includes('{%') && show.capabilities.includes('completion'), JSON.stringify(show).slice(0, 300));
  assert(show.model_info['general.architecture'], 'architecture');
  assert(/^\d+\.\d+\.\d+/.test((await ollama.version()).version), 'version');
});

await check('chat: shape, counts, and the same greedy text as chat completions', async () => {
  const r = await ollama.chat({ model: M, messages: hello, options: greedy });
  eq(r.model, M, 'model');
  eq(r.message.role, 'assistant', 'role');
  assert(r.done === true && ['stop', 'length'].includes(r.done_reason), `done ${r.done_reason}`);
  assert(r.prompt_eval_count > 0 && r.eval_count > 0 && r.eval_count <= 24, `${r.prompt_eval_count} ${r.eval_count}`);
  assert(r.total_duration >= r.eval_duration && r.eval_duration >= 0 && r.load_duration === 0, 'durations');
  assert(!Number.isNaN(Date.parse(r.created_at)), 'created_at');
  const o = await openai.chat.completions.create({ model: M, messages: hello, max_tokens: 24, temperature: 0 });
  eq(r.message.content, o.choices[0].message.content || '', 'content = chat completions');
  eq(r.prompt_eval_count, o.usage.prompt_tokens, 'prompt tokens');
  const tagged = await ollama.chat({ model: M + ':latest', messages: hello, options: greedy });
  eq(tagged.message.content, r.message.content, 'name:latest');
});

await check('chat stream: NDJSON pieces add up to the same message', async () => {
  const r = await ollama.chat({ model: M, messages: hello, options: greedy });
  let content = '', last = null, n = 0;
  for await (const part of await ollama.chat({ model: M, messages: hello, options: greedy, stream: true })) {
    content += part.message.content;
    last = part;
    n++;
  }
  assert(n > 2, `${n} parts`);
  eq(content.trim(), r.message.content, 'content');
  assert(last.done && last.done_reason === r.done_reason && last.eval_count === r.eval_count, JSON.stringify(last));
});

await check('thinking: an R1-style prompt answers with message.thinking, streamed too', async () => {
  const req = { model: R1, messages: hello, options: { temperature: 0, num_predict: 16 } };
  const r = await ollama.chat(req);
  assert(r.message.thinking && r.message.thinking.length > 0, JSON.stringify(r.message));
  eq(r.done_reason, 'length', 'done_reason');
  let thinking = '';
  for await (const part of await ollama.chat({ ...req, stream: true })) thinking += part.message.thinking || '';
  eq(thinking.trim(), r.message.thinking, 'streamed thinking');
  const on = await ollama.chat({ ...req, think: true });
  eq(on.message, r.message, 'think: true (this template always thinks)');
});

await check('format: a JSON schema constrains the answer', async () => {
  const schema = { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, n: { type: 'integer', minimum: 0, maximum: 999 } },
    required: ['city', 'n'], additionalProperties: false };
  const r = await ollama.chat({ model: M, messages: hello, format: schema, options: { temperature: 1, seed: 3, num_predict: 200 } });
  const v = JSON.parse(r.message.content);
  eq(Object.keys(v).sort(), ['city', 'n'], 'keys');
  const g = await ollama.generate({ model: M, prompt: 'Hello', format: schema, options: { num_predict: 200, seed: 1 } });
  eq(Object.keys(JSON.parse(g.response)).sort(), ['city', 'n'], 'generate keys');
  // "json" (any JSON value): a random model may still be inside a long string at the limit,
  // so only a whole value is required to parse.
  const j = await ollama.generate({ model: M, prompt: 'Hello', format: 'json', options: { num_predict: 200, seed: 1 } });
  if (j.done_reason === 'stop') JSON.parse(j.response);
});

await check('tool history without ids: calls and results are paired in order', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const history = [{ role: 'user', content: 'Weather in Paris and Rome?' },
    { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }, { function: { name: 'get_weather', arguments: { city: 'Rome' } } }] },
    { role: 'tool', content: '{"temp": 21}', tool_name: 'get_weather' }, { role: 'tool', content: '{"temp": 25}' }];
  const r = await ollama.chat({ model: M, messages: history, tools, options: { num_predict: 4 } });
  const short = await ollama.chat({ model: M, messages: history.slice(0, 1), tools, options: { num_predict: 4 } });
  assert(r.prompt_eval_count > short.prompt_eval_count + 10, `${r.prompt_eval_count} vs ${short.prompt_eval_count}`);
  let err = null;
  try { await ollama.chat({ model: M, messages: [...history, { role: 'tool', content: 'x' }] }); } catch (e) { err = e; }
  assert(err && err.status_code === 400 && /no earlier tool call/.test(err.error), `unpaired tool result: ${err}`);
});

await check('generate: templated, raw, streamed, and the load / unload requests', async () => {
  const system = 'You are terse.';
  const g = await ollama.generate({ model: M, prompt: 'Hello, who are you?', system, options: greedy });
  const o = await openai.chat.completions.create({ model: M, max_tokens: 24, temperature: 0, messages: [{ role: 'system', content: system }, ...hello] });
  eq(g.response, o.choices[0].message.content || '', 'response = chat completions');
  assert(g.done && g.eval_count > 0, 'counts');
  let streamed = '';
  for await (const part of await ollama.generate({ model: M, prompt: 'Hello, who are you?', system, options: greedy, stream: true })) streamed += part.response;
  eq(streamed.trim(), g.response, 'streamed response');
  const raw = await ollama.generate({ model: M, prompt: 'Once upon a time', raw: true, options: greedy });
  const c = await openai.completions.create({ model: M, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
  eq(raw.response, c.choices[0].text.trim(), 'raw = completions');
  eq((await ollama.generate({ model: M, prompt: '' })).done_reason, 'load', 'empty prompt loads');
  eq((await ollama.generate({ model: M, prompt: '', keep_alive: 0 })).done_reason, 'unload', 'keep_alive 0 unloads');
});

await check('errors: {"error": ...} with the right status', async () => {
  const cases = [
    [() => ollama.chat({ model: 'nope', messages: hello }), 404, /nope/],
    [() => ollama.chat({ model: M, messages: [{ role: 'user', content: 'x', images: ['AAAA'] }] }), 400, /images/],
    [() => ollama.chat({ model: M, messages: hello, options: { num_predict: 'many' } }), 400, /num_predict/],
    [() => ollama.chat({ model: M, messages: [{ role: 7, content: 'x' }] }), 400, /messages\[0\]\.role/],
    [() => ollama.generate({ model: M, prompt: 'x', think: 'very' }), 400, /think/],
  ];
  for (const [call, status, re] of cases) {
    let err = null;
    try { await call(); } catch (e) { err = e; }
    assert(err && err.status_code === status && re.test(err.error), `expected ${status} ${re}: ${err && err.status_code} ${err && err.error}`);
  }
  const r = await fetch(base + '/api/chat', { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: '{"model": ' });
  const body = await r.json();
  assert(r.status === 400 && typeof body.error === 'string', JSON.stringify(body));
});

await check('random bodies: only 200 / 400 / 404 / 422 with {"error": ...}, never a 500', async () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const values = [null, true, false, 0, -1, 2, 0.5, 'x', '', 'json', 'high', [], {}, [1], { num_predict: 2 }, { temperature: 'hot' },
    { stop: ['a'] }, { type: 'object' }, [{ role: 'user', content: 'hi' }], [{ role: 'tool', content: 'x' }],
    [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] }], [{ role: 'user', content: 5 }],
    [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], '5m', 0];
  const fields = ['model', 'messages', 'prompt', 'system', 'stream', 'format', 'options', 'think', 'tools', 'keep_alive', 'raw', 'images'];
  const seen = {};
  for (let i = 0; i < 120; i++) {
    const chat = rnd() < 0.5;
    const body = chat ? { model: M, messages: hello, options: { num_predict: 3 } } : { model: M, prompt: 'Hi', options: { num_predict: 3 } };
    for (let k = 0; k < 3; k++) body[pick(fields)] = pick(values);
    if (body.options && typeof body.options === 'object' && !Array.isArray(body.options)) body.options = { ...body.options, num_predict: 3 };
    const r = await fetch(base + (chat ? '/api/chat' : '/api/generate'), { method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const text = await r.text();
    seen[r.status] = (seen[r.status] || 0) + 1;
    assert([200, 400, 404, 422].includes(r.status), `${r.status} for ${JSON.stringify(body)}: ${text.slice(0, 300)}`);
    if (r.status !== 200) assert(typeof JSON.parse(text).error === 'string', `error shape: ${text.slice(0, 200)}`);
  }
  assert(seen[200] && seen[400], JSON.stringify(seen));
});

finish();
