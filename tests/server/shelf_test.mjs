// The model shelf of a real `frugal serve` (tests/server/test_model_shelf.sh starts it with a
// models folder, a models.toml and a limit): models load on first use, evict each other within
// --max-loaded or --max-memory, load once for eight concurrent first requests, are never
// evicted while busy, unload after keep_alive 0, fail alone when their file is corrupt; aliases
// resolve, deepseek-chat and deepseek-reasoner differing only in thinking. What the shelf does is
// read where a client reads it: /v1/models, /api/ps and /metrics.
// Usage: node shelf_test.mjs MODE BASE_URL   (MODE: count | budget | tiny-budget | slow-load)
import { check, assert, eq, finish } from './harness.mjs';

const [mode, base] = process.argv.slice(2);

async function post(path, body) {
  const r = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* a stream */ }
  return { status: r.status, text, json };
}
const get = async (path) => (await fetch(base + path)).json();
async function metric(name, model) {
  const text = await (await fetch(base + '/metrics')).text();
  const m = text.match(new RegExp(`^${name}\\{model="${model}"\\} (\\S+)$`, 'm'));
  assert(m, `${name}{model="${model}"} in /metrics`);
  return Number(m[1]);
}
const models = async () => Object.fromEntries((await get('/v1/models')).data.map((m) => [m.id, m]));
const loaded = async () => Object.values(await models()).filter((m) => m.state === 'loaded' && !m.alias_of).map((m) => m.id).sort();
const chat = (model, extra = {}) =>
  post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 8, temperature: 0, ...extra });
async function eventually(cond, what) {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within 5 s: ${what}`);
}
const A = 'tiny-qwen2', B = 'tiny-llama', C = 'r1';

if (mode === 'count') {
  await check('every model and alias listed, none loaded before its first request', async () => {
    const ms = await models();
    for (const id of [A, B, C, 'keeper', 'broken', 'deepseek-chat', 'deepseek-reasoner', 'r1-distill']) assert(ms[id], `${id} listed`);
    for (const m of Object.values(ms)) eq(m.state, 'available', `${m.id} state`);
    eq(ms['deepseek-chat'].alias_of, C, 'deepseek-chat is an alias of r1');
    eq((await get('/api/ps')).models.length, 0, '/api/ps');
  });

  await check('a malformed request is refused before its model loads, in each dialect', async () => {
    const bad = [
      ['/v1/chat/completions', { model: A, messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }, 'messages[0].content[0].type'],
      ['/api/chat', { model: A, messages: [{ role: 'user', content: 'hi' }], options: { temperature: 'hot' } }, 'options.temperature'],
      ['/v1/messages', { model: A, max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages[0].content[0].type'],
      ['/v1/responses', { model: A, input: 'hi', reasoning: { effort: 'extreme' } }, 'reasoning.effort'],
    ];
    for (const [path, body, field] of bad) {
      const r = await post(path, body);
      assert(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assert(r.text.includes(field), `${path}: the error names ${field}: ${r.text.slice(0, 300)}`);
    }
    eq((await models())[A].state, 'available', 'nothing loaded');
    eq(await metric('frugal_model_loads_total', A), 0, 'loads');
  });

  await check('requests alternating among three models all succeed; --max-loaded 1 evicts and reloads', async () => {
    for (const m of [A, B, C, A, B, C]) {
      const r = await chat(m);
      eq(r.status, 200, `${m}: ${r.text.slice(0, 200)}`);
      eq(r.json.model, m, 'reply names the model');
      eq(await loaded(), [m], 'loaded after a request');
    }
    const ps = (await get('/api/ps')).models;
    eq(ps.map((m) => m.name), [C], '/api/ps');
    assert(ps[0].size > 0 && ps[0].expires_at, 'ps entry has a size and an expiry');
    for (const m of [A, B]) {
      eq(await metric('frugal_model_loads_total', m), 2, `${m} loads`);
      eq(await metric('frugal_model_evictions_total', m), 2, `${m} evictions`);
    }
    eq(await metric('frugal_model_loaded', C), 1, 'r1 loaded in /metrics');
  });

  await check('eight concurrent first requests load the model once', async () => {
    const before = await metric('frugal_model_loads_total', A);
    eq((await models())[A].state, 'available', 'not loaded yet');
    const rs = await Promise.all(Array.from({ length: 8 }, () => chat(A)));
    for (const r of rs) eq(r.status, 200, r.text.slice(0, 200));
    eq(await metric('frugal_model_loads_total', A), before + 1, 'loads');
  });

  await check('a busy model is never evicted: another model gets a 503 naming the limit until it is idle', async () => {
    // ~4000 tokens keep A busy for a second or more; B needs A's place (--max-loaded 1).
    const busy = post('/v1/completions', { model: A, prompt: 'Once', max_tokens: 4000, ignore_eos: true });
    await new Promise((r) => setTimeout(r, 300));
    const refused = await chat(B);
    eq(refused.status, 503, `B while A runs: ${refused.text.slice(0, 300)}`);
    assert(/--max-loaded/.test(refused.json.error.message) && refused.json.error.message.includes(`${A} (`), refused.json.error.message);
    eq(await loaded(), [A], 'A still loaded');
    const done = await busy;
    eq(done.status, 200, 'the busy request completed');
    eq(done.json.usage.completion_tokens, 4000, 'all of it');
    eq((await chat(B)).status, 200, 'B once A is idle');
    eq(await loaded(), [B], 'B replaced A');
  });

  await check('a corrupt file is listed as failed with its reason while the others serve', async () => {
    const r = await chat('broken');
    eq(r.status, 503, r.text.slice(0, 200));
    assert(/past the end of the file/.test(r.json.error.message), r.json.error.message);
    const m = (await models()).broken;
    eq(m.state, 'failed', 'state');
    assert(/past the end of the file/.test(m.error), `reason: ${m.error}`);
    eq((await chat(A)).status, 200, 'another model still serves');
    eq(await metric('frugal_model_failed', 'broken'), 1, '/metrics');
  });

  await check('keep_alive 0 unloads after the reply; an empty request loads, keep_alive 0 alone unloads', async () => {
    const r = await post('/api/generate', { model: B, prompt: 'Hi', stream: false, keep_alive: 0, options: { num_predict: 4 } });
    eq(r.status, 200, r.text.slice(0, 200));
    await eventually(async () => (await get('/api/ps')).models.length === 0, 'unloaded after keep_alive 0');
    const load = await post('/api/generate', { model: B, keep_alive: '10m' });
    eq(load.json.done_reason, 'load', 'empty request loads');
    const ps = (await get('/api/ps')).models;
    eq(ps.map((m) => m.name), [B], 'loaded');
    const left = Date.parse(ps[0].expires_at) - Date.now();
    assert(left > 9 * 60e3 && left <= 10 * 60e3 + 5e3, `expires in ${left} ms, not 10 min`);
    const unload = await post('/api/generate', { model: B, keep_alive: 0 });
    eq(unload.json.done_reason, 'unload', 'keep_alive 0 alone unloads');
    await eventually(async () => (await loaded()).length === 0, 'unloaded');
    eq((await post('/api/chat', { model: A, keep_alive: 0 })).json.done_reason, 'unload', 'unloading a model not loaded loads nothing');
    eq(await loaded(), [], 'still nothing loaded');
    eq((await post('/api/generate', { model: B, keep_alive: 'soon' })).status, 400, 'a bad keep_alive is a 400');
  });

  await check('aliases: deepseek-chat and deepseek-reasoner are r1 with thinking off and on', async () => {
    const reasoner = await chat('deepseek-reasoner', { max_tokens: 12 });
    const chatAlias = await chat('deepseek-chat', { max_tokens: 12 });
    const on = await chat(C, { max_tokens: 12 });
    const off = await chat(C, { max_tokens: 12, thinking: { type: 'disabled' } });
    for (const r of [reasoner, chatAlias, on, off]) eq(r.status, 200, r.text.slice(0, 200));
    eq(reasoner.json.choices[0].message, on.json.choices[0].message, 'deepseek-reasoner = r1 (thinking on)');
    eq(chatAlias.json.choices[0].message, off.json.choices[0].message, 'deepseek-chat = r1 with thinking disabled');
    assert(reasoner.json.choices[0].message.reasoning_content, 'the reasoner reasons');
    assert(!chatAlias.json.choices[0].message.reasoning_content, 'deepseek-chat does not');
    assert(reasoner.json.usage.prompt_tokens !== chatAlias.json.usage.prompt_tokens, 'the prompts differ (the closed think block)');
    eq((await chat('r1-distill')).status, 200, 'a configured alias');
    eq((await chat(`${A}:latest`)).status, 200, "Ollama's :latest tag");
    const nope = await chat('nope');
    eq(nope.status, 404, 'unknown model');
    assert(nope.json.error.message.includes(`${A}, `) && nope.json.error.message.includes('deepseek-chat'), nope.json.error.message);
  });

  await check('models.toml: its context applies; a pinned model is never evicted', async () => {
    eq((await chat(C)).status, 200, 'r1');
    eq((await models())[C].context_length, 256, 'r1 has the ctx of the config');
    eq((await chat('keeper')).status, 200, 'keeper');
    eq((await models()).keeper.pinned, true, 'pinned');
    const r = await chat(A);
    eq(r.status, 503, r.text.slice(0, 200));
    assert(/keeper \(\d+ MiB, pinned\)/.test(r.json.error.message), r.json.error.message);
  });

  await check('load and unload by hand', async () => {
    const u = await post('/models/unload', { model: 'keeper' });
    eq(u.json.state, 'unloading', 'unload');
    await eventually(async () => (await loaded()).length === 0, 'unloaded');
    eq((await post('/models/load', { model: A })).json.state, 'loaded', 'load');
    eq(await loaded(), [A], 'loaded');
    eq((await post('/models/load', { model: 'nope' })).status, 404, 'unknown');
    eq((await post('/models/load', {})).status, 400, 'no model');
  });
}

if (mode === 'budget') {
  await check('a byte budget evicts the least recently used idle model', async () => {
    eq((await chat(A)).status, 200, 'A');
    eq((await chat(B)).status, 200, 'B');
    const ms = await models();
    eq(await loaded(), [B], 'A was evicted for B (the budget holds one)');
    const used = Number((await (await fetch(base + '/metrics')).text()).match(/^frugal_memory_used_bytes (\d+)$/m)[1]);
    const budget = Number((await (await fetch(base + '/metrics')).text()).match(/^frugal_memory_budget_bytes (\d+)$/m)[1]);
    eq(used, ms[B].memory_bytes, 'used = the loaded model');
    assert(used <= budget, `${used} within ${budget}`);
    eq(await metric('frugal_model_evictions_total', A), 1, 'A evicted once');
  });
}

if (mode === 'slow-load') {
  // The server runs with FRUGAL_LOAD_DELAY_MS=5000: each load takes five seconds more.
  await check('a stream waiting for its model gets headers at once, then the load progress, then the answer', async () => {
    const t0 = Date.now();
    const r = await fetch(base + '/v1/chat/completions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: A, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 8, stream: true }),
    });
    eq(r.status, 200, 'status');
    assert(Date.now() - t0 < 2500, `headers after ${Date.now() - t0} ms, during the load`);
    const text = await r.text();
    const progress = [...text.matchAll(new RegExp(`^: loading model ${A}: (\\d+)%$`, 'gm'))].map((m) => Number(m[1]));
    assert(progress.length >= 2, `progress comments: ${text.slice(0, 300)}`);
    for (let i = 1; i < progress.length; i++) assert(progress[i] >= progress[i - 1], `progress never goes back: ${progress}`);
    assert(text.indexOf(': loading model') < text.indexOf('data: '), 'progress before the first event');
    assert(text.trimEnd().endsWith('data: [DONE]'), `the answer follows: ${text.slice(-200)}`);
  });
  await check('a plain request waits for the load and gets its answer', async () => {
    const r = await chat(B);
    eq(r.status, 200, r.text.slice(0, 200));
  });
  await check('/metrics shows a load in progress', async () => {
    const pending = chat(C);
    await new Promise((r) => setTimeout(r, 1000));
    const p = await metric('frugal_model_load_progress', C);
    assert(p > 0 && p < 1, `progress ${p}`);
    eq((await models())[C].state, 'loading', 'state');
    eq((await pending).status, 200, 'then served');
  });
}

if (mode === 'tiny-budget') {
  await check('a model larger than the whole budget gets a 503 naming it, and nothing is loaded', async () => {
    const r = await chat(A);
    eq(r.status, 503, r.text.slice(0, 200));
    assert(/--max-memory/.test(r.json.error.message) && /MiB/.test(r.json.error.message), r.json.error.message);
    eq((await models())[A].state, 'available', 'refused, not failed');
    eq(await loaded(), [], 'nothing loaded');
  });
}

finish();
