// Load generator for `frugal serve` (bench/run_serve.sh runs it): bounded, on loopback.
//   node serve_load.mjs BASE_URL MODEL [--clients 1,4,8,16] [--requests-per-client 2] [--max-tokens 128]
//                       [--prompt-tokens 16] [--no-long-prompt] [--json]
// For each client count: that many concurrent clients, each sending streaming completions one
// after another (prompts of random token ids, end-of-sequence ignored); reports the aggregate
// generated tokens/s (completion tokens over the wall time), time to first token and the
// inter-token gap (mean, p50, p90, p99 over all requests / all gaps). Then, unless
// --no-long-prompt, time to first token for a 2,000-token prompt cold vs with its first 1,900
// tokens cached. Speaks the OpenAI completions API with token-id prompts, so it drives
// llama-server (bench/run_serve.sh compares them) as well as frugal.
const [base, model, ...rest] = process.argv.slice(2);
const opt = { clients: '1,4,8,16', 'requests-per-client': '2', 'max-tokens': '128', 'prompt-tokens': '16', json: false,
  'no-long-prompt': false };
for (let i = 0; i < rest.length; i++) {
  const k = rest[i].replace(/^--/, '');
  if (k === 'json' || k === 'no-long-prompt') opt[k] = true;
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
  let buf = '', first = null, last = null, tokens = 0, chunks = 0;
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
      const c = j.choices && j.choices[0];
      if (c && (c.text || !c.finish_reason)) {  // text, or a token still being spelled; not a bare closing chunk
        ++chunks;
        if (first === null) first = now;
        else gaps.push((now - last) / 1000);
        last = now;
      }
    }
  }
  // A server that sends no usage (or a zero count) streams one token per chunk.
  return { tokens: tokens || chunks, ttft: (first - t0) / 1000, gaps };
}

// Nearest-rank percentile of an unsorted array (0 when empty).
function pct(a, p) {
  if (!a.length) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function level(n) {
  const t0 = performance.now();
  const results = [];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let k = 0; k < perClient; k++) results.push(await streamOne(ids(promptTokens), maxTokens));
  }));
  const wall = (performance.now() - t0) / 1000;
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  const gaps = results.flatMap((r) => r.gaps), ttfts = results.map((r) => r.ttft);
  return {
    clients: n, requests: results.length, tokens, seconds: wall, tokens_per_s: tokens / wall,
    mean_ttft_s: ttfts.reduce((a, t) => a + t, 0) / ttfts.length,
    ttft_p50_s: pct(ttfts, 50), ttft_p90_s: pct(ttfts, 90), ttft_p99_s: pct(ttfts, 99),
    mean_itl_s: gaps.length ? gaps.reduce((a, g) => a + g, 0) / gaps.length : 0,
    itl_p50_s: pct(gaps, 50), itl_p90_s: pct(gaps, 90), itl_p99_s: pct(gaps, 99),
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
  const ms = (x) => (x * 1000).toFixed(1);
  if (!opt.json)
    console.error(`clients ${n}: ${r.tokens_per_s.toFixed(1)} t/s aggregate; TTFT ms mean ${ms(r.mean_ttft_s)} ` +
      `p50 ${ms(r.ttft_p50_s)} p90 ${ms(r.ttft_p90_s)} p99 ${ms(r.ttft_p99_s)}; ITL ms mean ${ms(r.mean_itl_s)} ` +
      `p50 ${ms(r.itl_p50_s)} p90 ${ms(r.itl_p90_s)} p99 ${ms(r.itl_p99_s)}`);
}
if (opt['no-long-prompt']) {
  console.log(JSON.stringify(out));
  process.exit(0);
}
// TTFT: a 2,000-token prompt cold, then another 2,000-token prompt sharing its first 1,900.
const shared = ids(1900);
const cold = await latency([...shared, ...ids(100)]);
const warm = await latency([...shared, ...ids(100)]);
out.ttft_2000 = { cold_s: cold.seconds, cached_s: warm.seconds, cached_tokens: warm.cached, speedup: cold.seconds / warm.seconds };
if (!opt.json) console.error(`TTFT 2000-token prompt: cold ${(cold.seconds * 1000).toFixed(0)} ms, 1900 cached ${(warm.seconds * 1000).toFixed(0)} ms (${warm.cached} tokens hit): ${(cold.seconds / warm.seconds).toFixed(1)}x`);
console.log(JSON.stringify(out));
