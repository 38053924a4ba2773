// The shipped default model through `frugal serve` and the official openai client: held-out
// arithmetic problems (from `frugal eval --problems-out`), greedy, several requests in flight.
// Every answer must carry its scratchpad in reasoning_content and only the number in content;
// the accuracy per bucket goes to OUT_JSON for the shell test to compare with the model card.
// Usage: node default_model_test.mjs BASE_URL MODEL PROBLEMS_JSONL OUT_JSON
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../oracle/package.json'));
const { default: OpenAI } = require('openai');

const [base, model, problemsPath, outPath] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0, timeout: 300000 });
const problems = readFileSync(problemsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const per = {};
let shapeErrors = [];
async function ask(p) {
  const r = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: p.question }], temperature: 0, max_tokens: 600,
  });
  const m = r.choices[0].message;
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

const queue = problems.slice();
async function worker() { while (queue.length) await ask(queue.shift()); }
await Promise.all([worker(), worker(), worker(), worker()]);
const hello = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello!' }], temperature: 0, max_tokens: 200 });
writeFileSync(outPath, JSON.stringify({ per, shapeErrors, hello: hello.choices[0].message }, null, 1));
console.log(JSON.stringify(per));
