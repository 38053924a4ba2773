#!/usr/bin/env python3
"""Seed inputs for the text fuzz targets: make_text_seeds.py TARGET DIR.

output_parser: a configuration byte, then model output in each tool-call syntax, with and
without reasoning; json_schema: a schema, a NUL byte, then a document it accepts (or one it
rejects); models_toml: the README's models.toml and variations; request: a dialect byte (0
OpenAI chat, 1 Ollama chat, 2 Ollama generate, 3 Anthropic Messages, 4 Responses), then a body.
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
    ]
    seeds = [bytes([d]) + json.dumps(b).encode() for d, b in bodies]
else:
    sys.exit(f'unknown target {target}')
for i, s in enumerate(seeds):
    with open(os.path.join(out, f'seed-{i:02d}'), 'wb') as f:
        f.write(s)
