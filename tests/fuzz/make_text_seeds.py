#!/usr/bin/env python3
"""Seed inputs for the text fuzz targets: make_text_seeds.py TARGET DIR.

output_parser: a configuration byte, then model output in each tool-call syntax, with and
without reasoning; json_schema: a schema, a NUL byte, then a document it accepts (or one it
rejects); models_toml: the README's models.toml and variations; request: a dialect byte (0
OpenAI chat, 1 Ollama chat, 2 Ollama generate, 3 Anthropic Messages, 4 Responses, 5
completions), then a body;
tokenizer: a byte choosing the tokenizer and options, then text (the golden tokenizer strings,
the oracle's extra corpus, special tokens, invalid UTF-8, text that NFC changes); hf_config: 0
then a config.json, or 1 then tokenizer.json NUL tokenizer_config.json NUL config.json (the
golden models' files, compact, and hand-made variants).
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def compact(obj):
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode()

target, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
seeds = []
if target == 'output_parser':
    ds = ('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```'
          '<｜tool▁call▁end｜><｜tool▁calls▁end｜>')
    v31 = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>'
    qwen = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    llama = '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "f", "parameters": {}}'
    for cfg, text in [(1 | 4, ds), (1 | 4 | 8, 'thinking</think>\n\n' + v31), (2 | 4, '<think>hm</think>' + qwen + qwen),
                      (3, llama), (3, '{"name": "f", "parameters": {"a": [1, 2]}}'), (4 | 8, 'reason only, never closed'),
                      (16, 'text then STOP and more'), (4, '<think>a</think>answer <tool_call>{"bad json</tool_call>'),
                      (0, 'plain text with <think> in the middle'), (2 | 4 | 8 | 16 | 128, 'r</think>\n\n\n' + qwen)]:
        seeds.append(bytes([cfg]) + text.encode())
elif target == 'json_schema':
    pairs = [
        ('{"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}, "age": {"type": "integer", "minimum": 0}},'
         ' "required": ["name"], "additionalProperties": false}', '{"name": "Ada", "age": 36}'),
        ('{"type": "array", "items": {"enum": ["a", "b", 3, null]}, "minItems": 1, "maxItems": 3}', '["a", 3, null]'),
        ('{"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "object", "properties": {"x": {"const": true}}}]}', '{"x": true}'),
        ('{"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"}',
         '{"next": {"next": {}}}'),
        ('{"type": "object", "properties": {"s": {"type": "string", "minLength": 2}}}', '{"s": "\\u00e9\\n\\"x"}'),
        ('{"type": "object"}', '{"a": [1, -2.5e3, true, false, null, {"b": "c"}]}'),
        ('{"type": "object", "properties": {"a": {"type": "integer"}}}', '{"a": 1.5}'),
    ]
    seeds = [s.encode() + b'\0' + d.encode() for s, d in pairs]
elif target == 'models_toml':
    base = '''models_dir = "/srv/models"
max_memory = "16GiB"
max_loaded = 2
keep_alive = "30m"
deepseek_aliases = "r1"

[models.r1]
path = "r1.gguf"
aliases = ["reasoner", "r"]
ctx = 8192
max_seqs = 4
keep_alive = "1h30m"
pin = true
preload = false
thinking = true
pooling = "last"
chat_template = "r1.jinja"
[models.r1.sampling]
temperature = 0.6
top_p = 0.95
top_k = 40
'''
    seeds = [base.encode(), b'[models.a]\npath = "a.gguf"\nkeep_alive = -1\n', b'keep_alive = 0\n[models."quoted name"]\npath = "x"\n',
             b'[models.a]\npath = "a"\n[models.b]\npath = "b"\naliases = []\n', b'max_memory = 1073741824\n']
elif target == 'request':
    import json
    bodies = [
        (0, {"model": "m", "temperature": 0.5, "stop": ["a"], "n": 1, "logprobs": True, "top_logprobs": 2, "seed": 7,
             "stream": True, "stream_options": {"include_usage": True}, "reasoning_effort": "low",
             "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
             "thinking": {"type": "enabled"}, "tool_choice": {"type": "function", "function": {"name": "f"}},
             "chat_template_kwargs": {"enable_thinking": False},
             "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
             "messages": [{"role": "system", "content": [{"type": "text", "text": "s"}]}, {"role": "user", "content": "u\u00e9"},
                          {"role": "assistant", "content": None, "reasoning_content": "r",
                           "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
                          {"role": "tool", "tool_call_id": "c", "content": "x"}, {"role": "assistant", "content": "p", "prefix": True}]}),
        (1, {"model": "m", "stream": False, "think": "high", "format": {"type": "object"}, "keep_alive": "5m",
             "options": {"temperature": 0.1, "top_k": 3, "num_predict": 5, "seed": 1, "stop": ["s"], "repeat_penalty": 1.1},
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
             "messages": [{"role": "user", "content": "u", "images": []},
                          {"role": "assistant", "content": "", "thinking": "t", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                          {"role": "tool", "content": "r", "tool_name": "f"}]}),
        (2, {"model": "m", "prompt": "p", "system": "s", "raw": False, "options": {"top_p": 0.5}, "think": True, "format": "json"}),
        (2, {"prompt": "Once upon", "raw": True, "stream": False}),
        (3, {"model": "m", "max_tokens": 5, "system": [{"type": "text", "text": "s"}], "temperature": 0.5, "stream": True,
             "stop_sequences": ["z"], "thinking": {"type": "enabled", "budget_tokens": 100},
             "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"},
             "messages": [{"role": "user", "content": [{"type": "text", "text": "u"}]},
                          {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"},
                                                            {"type": "tool_use", "id": "i", "name": "f", "input": {}}]},
                          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "i", "is_error": True,
                                                        "content": [{"type": "text", "text": "r"}]}]}]}),
        (4, {"model": "m", "instructions": "i", "max_output_tokens": 9, "temperature": 1, "stream": False,
             "reasoning": {"effort": "low"}, "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
             "tool_choice": "required", "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
             "input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "u"}]},
                       {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                       {"type": "function_call_output", "call_id": "c", "output": "o"}, {"type": "reasoning", "summary": []}]}),
        (4, {"input": "hello"}),
        (5, {"model": "m", "prompt": "def f(", "suffix": "\n    return x", "max_tokens": 16, "logprobs": 3,
             "temperature": 0, "stop": ["\n\n"], "stream": True, "seed": 4}),
        (5, {"prompt": [1, 2, 3, 18446744073709551615], "n": 2}),
    ]
    seeds = [bytes([d]) + json.dumps(b).encode() for d, b in bodies]
elif target == 'tokenizer':
    texts = []
    for path in ('tests/data/golden/tokenizer/tokenizer_llama3.jsonl', 'tests/oracle/corpus_extra.jsonl'):
        with open(os.path.join(ROOT, path), encoding='utf-8') as f:
            texts += [json.loads(line)['text'].encode() for line in f if line.strip()]
    texts = texts[::4]  # every fourth: ~120 seeds, each tokenizer meets every kind of string
    texts += [b'<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nok<|im_end|>',
              '<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜></think>ok<｜end▁of▁sentence｜>'.encode(),
              b'<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>',
              b'<|im_start|<|im_start|>>', b'\xff\xfe\xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf end',
              'e\u0301 a\u0308\u0323 \u1100\u1161\u11a8 \u212b \uff21\u0301 \u0958 \U0001d15e'.encode(),
              b'a' * 3000, b' ' * 1000 + b'x', '日本語のテキスト123456789'.encode() * 20, b'\0\r\n\t\x0b\x0c']
    seeds = [bytes([i % 5 | (0x40 if i % 3 == 0 else 0) | (0x80 if i % 7 == 0 else 0)]) + t for i, t in enumerate(texts)]
elif target == 'hf_config':
    golden = os.path.join(ROOT, 'tests/data/golden/models')
    def load(model, name):
        with open(os.path.join(golden, model, name), encoding='utf-8') as f:
            return json.load(f)
    configs = [load(m, 'config.json') for m in ('qwen2-mini', 'qwen3-mini', 'v2lite-mini', 'v3-mini')]
    llama = dict(configs[1], architectures=['LlamaForCausalLM'], model_type='llama',
                 rope_scaling={'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
                               'original_max_position_embeddings': 8192})
    configs += [llama, dict(configs[1], rope_scaling={'type': 'yarn', 'factor': 4, 'original_max_position_embeddings': 32768}),
                dict(configs[0], rope_scaling={'rope_type': 'linear', 'factor': 2.0}, head_dim=None),
                dict(configs[3], quantization_config={'quant_method': 'fp8', 'weight_block_size': [128, 128]},
                     q_lora_rank=None, num_nextn_predict_layers=0),
                {'model_type': 'qwen2', 'hidden_size': 8, 'num_attention_heads': 2, 'num_hidden_layers': 1,
                 'intermediate_size': 16, 'rope_parameters': {'rope_theta': 5e5, 'rope_type': 'default'}}]
    seeds = [b'\0' + compact(c) for c in configs]
    for m in ('qwen3-mini', 'v3-mini'):
        seeds.append(b'\1' + compact(load(m, 'tokenizer.json')) + b'\0' + compact(load(m, 'tokenizer_config.json')) +
                     b'\0' + compact(load(m, 'config.json')))
        seeds.append(b'\1' + compact(load(m, 'tokenizer.json')))
    # A tokenizer of a few tokens with every loader feature: both merge formats, a literal Split,
    # Sequence normalizers, TemplateProcessing BOS / EOS, added tokens of each kind, holes in the ids.
    vocab = {chr(c) if 0x21 <= c <= 0x7e else chr(0x100 + i): i for i, c in enumerate(range(0x21, 0x7f))}
    vocab.update({'Ġ': 200, 'ab': 201, 'Ġa': 202, 'Ċ': 205})
    small = {'version': '1.0', 'added_tokens': [
                {'id': 300, 'content': '<s>', 'special': True, 'normalized': False, 'lstrip': False, 'rstrip': False},
                {'id': 301, 'content': '</s>', 'special': True},
                {'id': 302, 'content': '<tool>', 'special': False, 'lstrip': True, 'rstrip': True, 'normalized': True}],
             'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'NFKC'}, {'type': 'Lowercase'}]},
             'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
                 {'type': 'Split', 'pattern': {'String': ' '}, 'behavior': 'MergedWithNext', 'invert': False},
                 {'type': 'Split', 'pattern': {'Regex': '(?i:\\p{L}+)|\\s+(?!\\S)'}, 'behavior': 'Contiguous', 'invert': True},
                 {'type': 'ByteLevel', 'add_prefix_space': True, 'use_regex': True}]},
             'post_processor': {'type': 'TemplateProcessing', 'single': [{'SpecialToken': {'id': '<s>'}}, {'Sequence': {'id': 'A'}},
                                                                        {'SpecialToken': {'id': '</s>'}}],
                                'special_tokens': {'<s>': {'ids': [300]}, '</s>': {'ids': [301]}}},
             'model': {'type': 'BPE', 'unk_token': None, 'ignore_merges': True, 'vocab': vocab,
                       'merges': ['a b', ['Ġ', 'a']]}}
    config = {'bos_token': {'content': '<s>'}, 'eos_token': '</s>', 'add_bos_token': True,
              'chat_template': [{'name': 'tool_use', 'template': 'x'}, {'name': 'default', 'template': '{{ messages }}'}]}
    seeds.append(b'\1' + compact(small) + b'\0' + compact(config) + b'\0{"bos_token_id": 300}\0{{ bos_token }}')
    seeds.append(b'\1' + compact(dict(small, normalizer=None, post_processor=None)) + b'\0{}\0{}\0tmpl')
else:
    sys.exit(f'unknown target {target}')
for i, s in enumerate(seeds):
    with open(os.path.join(out, f'seed-{i:02d}'), 'wb') as f:
        f.write(s)
