// Writes a variant of a tokenizer folder that exercises what the shipped tokenizers do not:
// added tokens with lstrip/rstrip, and a TemplateProcessing post-processor that adds a BOS
// (with no add_bos_token in tokenizer_config.json, so the template decides).
// usage: node make_variant.mjs SOURCE_DIR OUT_DIR
import fs from 'node:fs';
import path from 'node:path';

const [src, out] = process.argv.slice(2);
const tok = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8'));
const cfg = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer_config.json'), 'utf8'));
const flags = { '<think>': { lstrip: true, rstrip: true }, '</think>': { rstrip: true }, '<|im_end|>': { lstrip: true } };
for (const t of tok.added_tokens) Object.assign(t, flags[t.content] ?? {});
const bos = tok.added_tokens.find((t) => t.content === '<|endoftext|>');
tok.post_processor = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [],
  special_tokens: { [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] } },
};
delete cfg.add_bos_token;
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(tok));
fs.writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify(cfg));
