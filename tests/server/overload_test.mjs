// Overload (issue 13, item 3): 256 clients at once against a server that runs 4 sequences and
// queues 32. The surplus must get 429 with Retry-After — never a 500, a reset or a hang — the
// admitted streams must complete, and afterwards the server must be healthy with nothing left
// running or held (/metrics before = after).
// Usage: node overload_test.mjs BASE_URL
import { check, assert, eq, finish } from './harness.mjs';

const [base] = process.argv.slice(2);
const N = 256;

async function gauges() {
  const text = await (await fetch(base + '/metrics')).text();
  const get = (name) => Number((text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm')) || [])[1]);
  return { running: get('frugal_requests_running'), queued: get('frugal_queue_depth'), kv: get('frugal_kv_used_tokens') };
}

async function one(i) {
  try {
    const r = await fetch(base + '/v1/chat/completions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `client ${i}` }], max_tokens: 200, stream: i % 2 === 0, ignore_eos: true }),
      signal: AbortSignal.timeout(300000),
    });
    const text = await r.text();
    return { status: r.status, retry: r.headers.get('retry-after'), text };
  } catch (e) {
    return { status: 'network', text: String(e && e.cause ? e.cause.code || e.cause : e) };
  }
}

await check(`${N} concurrent clients against --max-seqs 4 --max-queue 32: 200 or 429 with Retry-After, nothing else`, async () => {
  const before = await gauges();
  eq([before.running, before.queued], [0, 0], 'idle before');
  const rs = await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
  const by = {};
  for (const r of rs) by[r.status] = (by[r.status] || 0) + 1;
  console.log('statuses:', JSON.stringify(by));
  for (const r of rs) {
    assert(r.status === 200 || r.status === 429, `status ${r.status}: ${r.text.slice(0, 200)}`);
    if (r.status === 429) {
      eq(r.retry, '1', 'Retry-After');
      assert(JSON.parse(r.text).error.code === 'rate_limit_exceeded', r.text.slice(0, 200));
    } else if (!r.text.startsWith('data: ')) {
      eq(JSON.parse(r.text).usage.completion_tokens, 200, 'a whole answer');
    } else {
      assert(r.text.trimEnd().endsWith('data: [DONE]'), 'a stream ends with [DONE]');
    }
  }
  assert(by[200] >= 36 && by[429] > 0, `at least the 4 running + 32 queued were served, and some refused: ${JSON.stringify(by)}`);
});

await check('afterwards: healthy, nothing running, queued or held in KV slots', async () => {
  eq((await fetch(base + '/health')).status, 200, '/health');
  for (let i = 0; i < 50; i++) {
    const g = await gauges();
    if (g.running === 0 && g.queued === 0 && g.kv === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  eq(await gauges(), { running: 0, queued: 0, kv: 0 }, 'gauges');
  const r = await one(0);
  eq(r.status, 200, 'a request after the storm');
});

finish();
