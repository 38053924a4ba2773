// Deterministic random strings for the tokenizer oracle: concatenations of fragments chosen
// where tokenizers disagree most easily (whitespace kinds, digits, combining marks, case
// folding, scripts the regexes treat specially, emoji pieces, special tokens and near-misses).
// usage: node random_corpus.mjs SEED COUNT > corpus.jsonl
let state = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 1000);
const rnd = () => {
  state = (state * 1103515245 + 12345) % 2147483648;  // LCG: the same corpus on every machine
  return state / 2147483648;
};
const fragments = [
  ' ', '  ', '\n', '\r\n', '\r', '\t', '\u00a0', '\u3000', '\u2028', '\u0085', '\u180e', '\ufeff', '\u200b',
  'a', 'b', 'Z', 'e\u0301', '\u00e9', "'", "'s", "'S", "'ll", "'VE", '\u2019', '0', '1', '23', '456', '7890',
  '.', ',', '!', '?', '-', '_', '(', ')', '[', ']', '{', '}', '<', '>', '|', '/', '\\', '#', '$', '%', '&',
  '*', '+', '=', '~', '`', '^', '@', ':', ';', '"',
  '\u4e2d', '\u6587', '\u3042', '\u30a2', '\u30fc', '\ud55c', '\u0627', '\u064e', '\u05d0', '\u0915', '\u094d',
  '\u0e01', '\u0e31', '\u0416', '\u03a9', '\u00df', '\u0130', '\u017f', '\u212a', '\u212b', '\u0300', '\u0323',
  '\u0308', '\u1100', '\u1161', '\u11a8', '\u{1F600}', '\u{1F468}', '\u200d', '\u{1F3FD}', '\ufe0f', '\u20e3',
  '\u{1F1EB}', '\u{20000}', '\uff21', '\uff11', '\u2460', '\u00bd', '\u0663',
  '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<|begin_of_text|>', '<|eot_id|>', '<\uff5cUser\uff5c>',
  '<\uff5cbegin\u2581of\u2581sentence\uff5c>', '<|', '|>', '<|im_', '<\uff5c',
  'hello', 'world', 'The', ' the', 'ing', 'tion', 'http://', 'www.', '.com', '\u00ad', '\u0000', '\u007f',
];
const lines = [];
for (let i = 0; i < count; ++i) {
  const n = 1 + Math.floor(rnd() * 30);
  let text = '';
  for (let k = 0; k < n; ++k) text += fragments[Math.floor(rnd() * fragments.length)];
  lines.push(JSON.stringify({ i, text }));
}
process.stdout.write(lines.join('\n') + '\n');
