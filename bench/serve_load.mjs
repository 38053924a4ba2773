// Load generator for `frugal serve` (bench/run_serve.sh runs it): bounded, on loopback.
//   node serve_load.mjs BASE_URL MODEL [--clients 1,4,8,16] [--requests-per-client 2] [--max-tokens 128]
//                       [--prompt-tokens 16] [--json]
// For each client count: that many concurrent clients, each sending streaming completions one
// after another (prompts of random token ids, end-of-sequence ignored); reports the aggregate generated tokens/s (usage.completion_tokens over the
// wall time), mean time to first token and mean inter-token gap. Then time to first token for a
// 2,000-token prompt cold vs with its first 1,900 tokens cached.
const [base, model, ...rest] = process.argv.slice(2);
const opt = { clients: '1,4,8,16', 'requests-per-client': '2', 'max-tokens': '128', 'prompt-tokens': '16', json: false };
for (let i = 0; i < rest.length; i++) {
  const k = rest[i].replace(/^--/, '');
  if (k === 'json') opt.json = true;
  else opt[k] = rest[++i];
}
const levels = opt.clients.split(',').map(Number);
const perClient = Number(opt['requests-per-client']);
const maxTokens = Number(opt['max-tokens']);
const promptTokens = Number(opt['prompt-tokens']);

let seed = 12345;
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
function ids(n) { return Array.from({ length: n }, () => 1000 + Math.floor(rnd() * 20000)); }

// One streaming completion: resolves {tokens, ttft, gaps} (seconds).
async function streamOne(prompt, max_tokens) {
  const t0 = performance.now();
  const r = await fetch(base + '/v1/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens, temperature: 0.8, seed: Math.floor(rnd() * 1e9), stream: true,
      stream_options: { include_usage: true }, ignore_eos: true }),
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const dec = new TextDecoder();
  let buf = '', first = null, last = null, tokens = 0;
  const gaps = [];
  for await (const part of r.body) {
    buf += dec.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      const now = performance.now();
      if (j.usage) tokens = j.usage.completion_tokens;
      if (j.choices && j.choices.length) {
        if (first === null) first = now;
        else gaps.push((now - last) / 1000);
        last = now;
      }
    }
  }
  return { tokens, ttft: (first - t0) / 1000, gaps };
}

async function level(n) {
  const t0 = performance.now();
  const results = [];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let k = 0; k < perClient; k++) results.push(await streamOne(ids(promptTokens), maxTokens));
  }));
  const wall = (performance.now() - t0) / 1000;
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  const gaps = results.flatMap((r) => r.gaps);
  return {
    clients: n, requests: results.length, tokens, seconds: wall, tokens_per_s: tokens / wall,
    mean_ttft_s: results.reduce((a, r) => a + r.ttft, 0) / results.length,
    mean_itl_s: gaps.length ? gaps.reduce((a, g) => a + g, 0) / gaps.length : 0,
  };
}

async function latency(prompt) {
  const t0 = performance.now();
  const r = await fetch(base + '/v1/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: 1, temperature: 0 }),
  });
  const j = await r.json();
  if (r.status !== 200) throw new Error(JSON.stringify(j));
  return { seconds: (performance.now() - t0) / 1000, cached: j.usage.prompt_cache_hit_tokens };
}

const out = { levels: [] };
await streamOne(ids(8), 4);  // warm-up
for (const n of levels) {
  const r = await level(n);
  r.prompt_tokens = promptTokens;
  r.max_tokens = maxTokens;
  out.levels.push(r);
  if (!opt.json) console.error(`clients ${n}: ${r.tokens_per_s.toFixed(1)} t/s aggregate, TTFT ${(r.mean_ttft_s * 1000).toFixed(0)} ms, ITL ${(r.mean_itl_s * 1000).toFixed(1)} ms`);
}
// TTFT: a 2,000-token prompt cold, then another 2,000-token prompt sharing its first 1,900.
const shared = ids(1900);
const cold = await latency([...shared, ...ids(100)]);
const warm = await latency([...shared, ...ids(100)]);
out.ttft_2000 = { cold_s: cold.seconds, cached_s: warm.seconds, cached_tokens: warm.cached, speedup: cold.seconds / warm.seconds };
if (!opt.json) console.error(`TTFT 2000-token prompt: cold ${(cold.seconds * 1000).toFixed(0)} ms, 1900 cached ${(warm.seconds * 1000).toFixed(0)} ms (${warm.cached} tokens hit): ${(cold.seconds / warm.seconds).toFixed(1)}x`);
console.log(JSON.stringify(out));
