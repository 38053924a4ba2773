// The shipped default model through `frugal serve` and the official openai client: held-out
// arithmetic problems (from `frugal eval --problems-out`), greedy, several requests in flight.
// Every answer must carry its scratchpad in reasoning_content and only the number in content;
// the accuracy per bucket goes to OUT_JSON for the shell test to compare with the model card.
// Every eighth problem is also asked through Anthropic's Messages API (@anthropic-ai/sdk).
// Usage: node default_model_test.mjs BASE_URL MODEL PROBLEMS_JSONL OUT_JSON
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../oracle/package.json'));
const { default: OpenAI } = require('openai');
const { default: Anthropic } = require('@anthropic-ai/sdk');

const [base, model, problemsPath, outPath] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0, timeout: 300000 });
const anthropic = new Anthropic({ baseURL: base + '/anthropic', apiKey: 'none', maxRetries: 0, timeout: 300000 });
const problems = readFileSync(problemsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const per = {};
let shapeErrors = [], anthropicShape = [], anthropicMismatches = [], anthropicAsked = 0;
async function ask(p, i) {
  const r = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: p.question }], temperature: 0, max_tokens: 600,
  });
  const m = r.choices[0].message;
  if (i % 8 === 0) {
    // The same problem through Anthropic's Messages API: its scratchpad as a thinking block, the
    // number as the text block, the same greedy answer.
    const a = await anthropic.messages.create({ model, max_tokens: 600, temperature: 0, messages: [{ role: 'user', content: p.question }] });
    const thinking = a.content.filter((b) => b.type === 'thinking').map((b) => b.thinking).join('');
    const text = a.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
    anthropicAsked++;
    if (!/^-?\d+$/.test(text) || thinking.length === 0 || a.stop_reason !== 'end_turn') anthropicShape.push({ q: p.question, content: a.content });
    // The requests in flight around it differ, so a near-tie may break differently: counted, bounded.
    if (thinking !== (m.reasoning_content ?? '') || text !== (m.content ?? '')) anthropicMismatches.push({ q: p.question, text, openai: m.content });
  }
  const content = (m.content ?? '').trim();
  const b = (per[p.bucket] ??= { n: 0, correct: 0 });
  b.n++;
  if (content === String(p.answer)) b.correct++;
  // The shape: a number (right or wrong) in content, a non-empty scratchpad in reasoning_content
  // for multi-digit problems, and no think tags leaking into either.
  const leaks = /<\/?think>/.test(content) || /<\/?think>/.test(m.reasoning_content ?? '');
  if (!/^-?\d+$/.test(content) || leaks || typeof m.reasoning_content !== 'string')
    shapeErrors.push({ q: p.question, content, reasoning: m.reasoning_content, finish: r.choices[0].finish_reason });
}

const queue = problems.map((p, i) => [p, i]);
async function worker() { while (queue.length) await ask(...queue.shift()); }
await Promise.all([worker(), worker(), worker(), worker()]);
const hello = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello!' }], temperature: 0, max_tokens: 200 });
writeFileSync(outPath, JSON.stringify({ per, shapeErrors, anthropicAsked, anthropicShape, anthropicMismatches, hello: hello.choices[0].message }, null, 1));
console.log(JSON.stringify(per));
