// What the server's client tests share: named checks that report ok / FAIL and carry on, two
// assertions, the exit status, and require() for the npm clients in tests/oracle
// (scripts/install-deps.sh --npm installs them).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const oracleRequire = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../oracle/package.json'));
let failures = 0, passed = 0;

export async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
export function assert(cond, msg) { if (!cond) throw new Error(msg); }
export function eq(a, b, msg) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${msg}: ${sa.slice(0, 300)} != ${sb.slice(0, 300)}`);
}
// Prints the tally and exits 1 if any check failed.
export function finish() {
  console.log(`${passed} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}
