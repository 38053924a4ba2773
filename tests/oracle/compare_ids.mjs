// Compares two files of JSON id arrays (one per line) for the corpus they came from.
// usage: node compare_ids.mjs NAME CORPUS.jsonl REFERENCE.txt CANDIDATE.txt
// Prints "NAME: k/n identical" and the first differences; exits 1 on any difference.
import fs from 'node:fs';

const [name, corpusPath, refPath, candPath] = process.argv.slice(2);
const lines = (p) => fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '');
const texts = lines(corpusPath).map((l) => {
  const v = JSON.parse(l);
  return typeof v === 'string' ? v : v.text;
});
const ref = lines(refPath);
const cand = lines(candPath);
if (ref.length !== texts.length || cand.length !== texts.length) {
  console.log(`${name}: line counts differ: corpus ${texts.length}, reference ${ref.length}, frugal ${cand.length}`);
  process.exit(1);
}
let same = 0;
const diffs = [];
for (let i = 0; i < texts.length; ++i) {
  if (JSON.stringify(JSON.parse(ref[i])) === JSON.stringify(JSON.parse(cand[i]))) ++same;
  else diffs.push(i);
}
console.log(`${name}: ${same}/${texts.length} identical`);
for (const i of diffs.slice(0, 5)) {
  console.log(`  #${i} text ${JSON.stringify(texts[i]).slice(0, 120)}`);
  console.log(`     hf     ${ref[i].slice(0, 200)}`);
  console.log(`     frugal ${cand[i].slice(0, 200)}`);
}
process.exit(diffs.length ? 1 : 0);
