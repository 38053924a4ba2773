// The web chat page in a real browser (Debian's chromium, driven by playwright-core): the page
// lists the models, streams an answer equal to the API's at temperature 0, shows the
// reasoning of an R1-style model apart from the answer, keeps the conversation for the next
// turn, Stop ends a generation, and HTML in model output or user text stays text. Usage: node web_test.mjs BASE_URL MODEL R1_MODEL SCREENSHOT
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../oracle/package.json'));
const { chromium } = require('playwright-core');
const [base, model, r1, shot] = process.argv.slice(2);

let failures = 0;
async function check(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); } catch (e) { failures++; console.log(`FAIL ${name}: ${e.stack || e}`); }
}
function assert(c, m) { if (!c) throw new Error(m); }
async function api(body) {
  const r = await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.goto(base + '/');

async function ask(text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  const last = page.locator('.assistant').last();
  await last.waitFor();
  await page.waitForFunction(() => { const a = [...document.querySelectorAll('.assistant')].pop(); return a && a.dataset.state === 'done'; },
    null, { timeout: 60000 });
  return last;
}

await check('the page lists the served models', async () => {
  await page.waitForFunction(() => document.querySelectorAll('#model option').length >= 2);
  const names = await page.$$eval('#model option', (o) => o.map((x) => x.value));
  assert(names.includes(model) && names.includes(r1), JSON.stringify(names));
});

await check('an answer streams in and equals the API at temperature 0; usage is shown', async () => {
  await page.selectOption('#model', model);
  await page.fill('#temperature', '0');
  await page.fill('#max_tokens', '24');
  const a = await ask('Hello there');
  const shown = (await a.locator('.content').textContent()).trim();
  const ref = await api({ model, messages: [{ role: 'user', content: 'Hello there' }], temperature: 0, max_tokens: 24 });
  assert(shown === ref.choices[0].message.content, `page ${JSON.stringify(shown)} vs API ${JSON.stringify(ref.choices[0].message.content)}`);
  const usage = await a.locator('.usage').textContent();
  assert(/\d+ prompt tokens \(\d+ cached\), \d+ completion tokens/.test(usage), usage);
});

await check('the second turn sends the whole conversation (its prompt is longer and hits the cache)', async () => {
  const a = await ask('And again');
  const usage = await a.locator('.usage').textContent();
  const m = usage.match(/(\d+) prompt tokens \((\d+) cached\)/);
  assert(m && Number(m[1]) > 20, usage);
});

await check('reasoning is shown apart from the answer (R1 template)', async () => {
  await page.click('#reset');
  await page.selectOption('#model', r1);
  const a = await ask('Think first');
  assert(await a.locator('details').isVisible(), 'reasoning block visible');
  const r = (await a.locator('.reasoning').textContent()).trim();
  assert(r.length > 0, 'reasoning text');
  await page.screenshot({ path: shot, fullPage: true });
});

await check('Stop ends a long generation', async () => {
  await page.click('#reset');
  await page.selectOption('#model', model);
  await page.fill('#max_tokens', '15000');
  await page.fill('#input', 'Go on forever');
  await page.press('#input', 'Enter');
  await page.locator('#stop').waitFor({ state: 'visible' });
  await page.click('#stop');
  await page.waitForFunction(() => { const a = [...document.querySelectorAll('.assistant')].pop(); return a && a.dataset.state === 'done'; });
  const usage = await page.locator('.assistant .usage').last().textContent();
  assert(usage === 'stopped' || /\d+ completion tokens/.test(usage), usage);
});

// Model output is untrusted text: a reply carrying HTML and script (answer, reasoning, a tool
// call's name and arguments) and a user message doing the same must render as text. The
// server's stream is replaced by a planted one, as a hostile model would produce it.
await check('model output and user text containing HTML render as text, never as markup', async () => {
  await page.click('#reset');
  const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>';
  const chunk = (delta, extra = {}) => 'data: ' + JSON.stringify({ choices: [{ index: 0, delta, ...extra }] }) + '\n\n';
  const body = chunk({ role: 'assistant', reasoning_content: evil }) + chunk({ content: evil }) +
    chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: '<i>f</i>', arguments: evil } }] }, { finish_reason: 'tool_calls' }) +
    'data: ' + JSON.stringify({ choices: [], usage: { prompt_tokens: 1, prompt_cache_hit_tokens: 0, completion_tokens: 3,
                                                    completion_tokens_details: { reasoning_tokens: 1 } } }) + '\n\ndata: [DONE]\n\n';
  await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body }));
  try {
    const a = await ask('<img src=y onerror="window.__xss=3">');
    assert((await a.locator('.content').textContent()) === evil, 'answer shown as its text');
    assert((await a.locator('.reasoning').textContent()) === evil, 'reasoning shown as its text');
    assert((await a.locator('.tool').textContent()) === `<i>f</i>(${evil})`, 'tool call shown as its text');
    const user = await page.locator('.user').last().textContent();
    assert(user === '<img src=y onerror="window.__xss=3">', user);
    const planted = await page.evaluate(() => ({ xss: window.__xss, img: document.querySelectorAll('#log img, #log script, #log b, #log i').length }));
    assert(planted.xss === undefined && planted.img === 0, JSON.stringify(planted));
  } finally {
    await page.unroute('**/v1/chat/completions');
  }
});

// The model shelf as the page shows it: states in the picker, and a first message to a model
// that is still loading says so (the server's ": loading" comments) instead of looking stuck.
await check('the picker shows model states; a message to a loading model says it is loading', async () => {
  await page.click('#reset');
  const list = { object: 'list', data: [{ id: model, state: 'loaded' }, { id: 'big-model', state: 'loading', progress: 0.4 },
                                        { id: 'bad', state: 'failed', error: 'truncated file' }] };
  await page.route('**/v1/models', (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(list) }));
  await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' },
                                                                       body: ': loading model big-model: 40%\n\n' }));
  try {
    await page.evaluate(() => loadModels());
    const opts = await page.$$eval('#model option', (o) => o.map((x) => [x.value, x.textContent, x.title]));
    assert(JSON.stringify(opts) === JSON.stringify([[model, model, ''], ['big-model', 'big-model (loading 40%)', ''], ['bad', 'bad (failed)', 'truncated file']]),
           JSON.stringify(opts));
    await page.selectOption('#model', 'big-model');
    const a = await ask('Hello');
    const st = await a.locator('.status').textContent();
    assert(st === 'loading model big-model: 40%', st);
  } finally {
    await page.unroute('**/v1/models');
    await page.unroute('**/v1/chat/completions');
    await page.evaluate(() => loadModels());
  }
});

await check('no JavaScript errors', async () => assert(errors.length === 0, errors.join('\n')));
await browser.close();
process.exit(failures ? 1 : 0);
