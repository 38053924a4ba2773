// Reference token ids from Hugging Face's transformers.js, offline.
// usage: node hf_tokenize.mjs TOKENIZER_DIR CORPUS.jsonl [--add-special]
// TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json. Each corpus line is a JSON
// string or an object with a "text" field; prints one JSON array of ids per line, from
// encode(text, {add_special_tokens: false}) (special tokens in the text are matched), or with
// add_special_tokens: true given --add-special (transformers.js then applies the tokenizer.json
// post-processor only; it ignores tokenizer_config.json's add_bos_token).
import { AutoTokenizer, env } from '@huggingface/transformers';
import fs from 'node:fs';
import path from 'node:path';

const [dirArg, corpus, flag] = process.argv.slice(2);
const addSpecial = flag === '--add-special';
if (!dirArg || !corpus) {
  console.error('usage: node hf_tokenize.mjs TOKENIZER_DIR CORPUS.jsonl [--add-special]');
  process.exit(2);
}
const dir = path.resolve(dirArg);
env.allowRemoteModels = false;
// from_pretrained resolves a model id against localModelPath: point it at the parent folder.
env.localModelPath = path.dirname(dir) + path.sep;
const tok = await AutoTokenizer.from_pretrained(path.basename(dir), { local_files_only: true });

const out = [];
for (const line of fs.readFileSync(corpus, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const v = JSON.parse(line);
  const text = typeof v === 'string' ? v : v.text;
  out.push(JSON.stringify(tok.encode(text, { add_special_tokens: addSpecial })));
}
process.stdout.write(out.join('\n') + '\n');
