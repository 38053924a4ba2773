// Soak (issue 13, item 3): 64 clients stream chat completions back to back for SECONDS on a
// tiny model. Every request must complete (200, a [DONE], no error event); the server's
// resident memory must stay flat once warm (growth after the first quarter of the run within
// 16 MiB + 5 %); and afterwards it must be idle with nothing leaked: no request running or
// queued, no KV block held by a sequence, no connection thread busy (/metrics before = after).
// Usage: node soak_test.mjs BASE_URL SERVER_PID SECONDS [on|off: the RSS bound]
import fs from 'node:fs';
import { check, assert, eq, finish } from './harness.mjs';

const [base, pid, seconds, rssBound = 'on'] = process.argv.slice(2);
const CLIENTS = 64;
const rssKiB = () => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]);
const threads = () => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Threads:\s+(\d+)/m)[1]);

async function gauges() {
  const text = await (await fetch(base + '/metrics')).text();
  const get = (name) => Number((text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm')) || [])[1]);
  // slotBlocks: KV blocks held by anything but the prefix cache, i.e. by sequences (a finished
  // request that kept its blocks shows here, not in kv_used_tokens, which counts live slots).
  return { running: get('frugal_requests_running'), queued: get('frugal_queue_depth'), kv: get('frugal_kv_used_tokens'),
           slotBlocks: get('frugal_kv_blocks_used') - get('frugal_prefix_cache_ram_blocks'),
           busy: get('frugal_http_connections') };
}
const idle = (g) => g.running === 0 && g.queued === 0 && g.kv === 0 && g.slotBlocks === 0 && g.busy <= 1;

const words = ['apple', 'river', 'seven', 'green', 'proof', 'delta', 'noon', 'orbit'];
async function one(i, k) {
  // Varied prompts and lengths, some sharing a prefix (the prefix cache's hits and evictions).
  const content = `${k % 3 ? 'Tell me about' : 'Explain'} ${words[(i + k) % 8]} ${words[(i * 7 + k) % 8]} ${k}`;
  const r = await fetch(base + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: 8 + ((i * 13 + k) % 56), stream: true,
                           temperature: k % 2 ? 0.8 : 0, stream_options: { include_usage: true } }),
    signal: AbortSignal.timeout(120000),
  });
  const text = await r.text();
  if (r.status !== 200 || !text.includes('data: [DONE]') || text.includes('"error"'))
    throw new Error(`client ${i} request ${k}: ${r.status} ${text.slice(-300)}`);
}

await check(`${CLIENTS} streaming clients for ${seconds} s: every request completes, memory flat, nothing leaked`, async () => {
  const before = await gauges();
  assert(idle(before), `idle before: ${JSON.stringify(before)}`);
  const t0 = Date.now(), end = t0 + Number(seconds) * 1000;
  const rss = [];
  const sampler = setInterval(() => rss.push({ t: Date.now() - t0, kib: rssKiB() }), 1000);
  let done = 0;
  const errors = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    for (let k = 0; Date.now() < end; k++) {
      try {
        await one(i, k);
        done++;
      } catch (e) {
        errors.push(String(e));
      }
    }
  }));
  clearInterval(sampler);
  const warm = rss.filter((s) => s.t >= Number(seconds) * 250);
  const base0 = warm.length ? warm[0].kib : rss[0].kib, peak = Math.max(...warm.map((s) => s.kib));
  console.log(`requests: ${done} completed, ${errors.length} failed; RSS after warm-up ${(base0 / 1024).toFixed(1)} MiB, ` +
              `peak ${(peak / 1024).toFixed(1)} MiB; threads ${threads()}`);
  eq(errors.slice(0, 3), [], 'failed requests');
  assert(done >= CLIENTS, `at least one request per client (${done})`);
  if (rssBound === 'on') assert(peak - base0 <= 16 * 1024 + base0 * 0.05, `RSS grew from ${base0} KiB to ${peak} KiB after warm-up`);
  let after = await gauges();
  for (let i = 0; i < 50 && !idle(after); i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await gauges();
  }
  eq(after, { ...before, busy: after.busy }, 'gauges after = before');
  assert(after.busy <= 1, `connection threads busy after: ${after.busy}`);
});

finish();
