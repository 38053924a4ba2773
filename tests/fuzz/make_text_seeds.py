#!/usr/bin/env python3
"""Seed inputs for the text fuzz targets: make_text_seeds.py TARGET DIR.

output_parser: a configuration byte, then model output in each tool-call syntax, with and
without reasoning; json_schema: a schema, a NUL byte, then a document it accepts (or one it
rejects); models_toml: the README's models.toml and variations.
"""
import os
import sys

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
else:
    sys.exit(f'unknown target {target}')
for i, s in enumerate(seeds):
    with open(os.path.join(out, f'seed-{i:02d}'), 'wb') as f:
        f.write(s)
