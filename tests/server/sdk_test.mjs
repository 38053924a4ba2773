// Application SDKs pointed at `frugal serve` as apps use them: Vercel's AI SDK with its DeepSeek
// provider (@ai-sdk/deepseek: deepseek-reasoner's reasoning, deepseek-chat's text, streaming,
// a tool call) and LangChain's ChatOpenAI (@langchain/openai: invoke, stream, bound tools). The
// server (tests/server/test_model_shelf.sh) serves deepseek-reasoner and deepseek-chat as one
// R1-style model with thinking on and off.
// Usage: node sdk_test.mjs BASE_URL
import { check, assert, eq, finish, oracleRequire } from './harness.mjs';

const require = oracleRequire;
const { createDeepSeek } = require('@ai-sdk/deepseek');
const { generateText, streamText, tool } = require('ai');
const { z } = require('zod');
const { ChatOpenAI } = require('@langchain/openai');

globalThis.AI_SDK_LOG_WARNINGS = false;  // (it notes that DeepSeek ignores temperature while thinking)
const [base] = process.argv.slice(2);
const deepseek = createDeepSeek({ baseURL: base, apiKey: 'none' });  // DeepSeek's base URL has no /v1
const prompt = 'Hello, who are you?';
const weatherSchema = z.object({ city: z.string().max(12), unit: z.enum(['C', 'F']) });

await check('AI SDK + @ai-sdk/deepseek: deepseek-reasoner reasons, deepseek-chat answers', async () => {
  // The provider drops temperature for deepseek-reasoner; the shelf's models.toml makes r1 greedy.
  const opts = { prompt, maxOutputTokens: 12, temperature: 0 };
  await generateText({ model: deepseek('deepseek-reasoner'), ...opts, maxOutputTokens: 1 });  // warm the prefix cache
  const r = await generateText({ model: deepseek('deepseek-reasoner'), ...opts });
  assert(r.reasoningText && r.reasoningText.length > 0, `reasoning: ${JSON.stringify(r.reasoningText)}`);
  eq(r.usage.outputTokens, 12, 'output tokens');
  const c = await generateText({ model: deepseek('deepseek-chat'), ...opts });
  assert(!c.reasoningText, `deepseek-chat does not reason: ${JSON.stringify(c.reasoningText)}`);
  assert(c.text.length > 0, 'deepseek-chat text');
  eq(c.finishReason, 'length', 'finish reason');
});

await check('AI SDK: streamText gives the text generateText gives', async () => {
  const opts = { model: deepseek('deepseek-chat'), prompt, maxOutputTokens: 12, temperature: 0 };
  const whole = await generateText(opts);
  const s = streamText(opts);
  let text = '';
  for await (const part of s.textStream) text += part;
  eq(text.trim(), whole.text.trim(), 'streamed text');
});

await check('AI SDK: a forced tool call comes back typed', async () => {
  const r = await generateText({
    model: deepseek('deepseek-chat'), prompt: 'Weather in Paris?', maxOutputTokens: 100, temperature: 0,
    tools: { get_weather: tool({ description: 'Weather for a city', inputSchema: weatherSchema }) },
    toolChoice: { type: 'tool', toolName: 'get_weather' },
  });
  eq(r.toolCalls.length, 1, `tool calls: ${JSON.stringify(r.toolCalls)}`);
  eq(r.toolCalls[0].toolName, 'get_weather', 'tool name');
  assert(weatherSchema.safeParse(r.toolCalls[0].input).success, JSON.stringify(r.toolCalls[0].input));
});

await check('LangChain ChatOpenAI: invoke and stream agree; bound tools are called', async () => {
  const llm = new ChatOpenAI({ model: 'deepseek-chat', apiKey: 'none', configuration: { baseURL: base + '/v1' },
                               temperature: 0, maxTokens: 12, maxRetries: 0 });
  const m = await llm.invoke(prompt);
  assert(typeof m.content === 'string' && m.content.length > 0, `content: ${JSON.stringify(m.content)}`);
  let streamed = '';
  for await (const chunk of await llm.stream(prompt)) streamed += chunk.content;
  eq(streamed.trim(), m.content.trim(), 'streamed');
  const withTools = new ChatOpenAI({ model: 'deepseek-chat', apiKey: 'none', configuration: { baseURL: base + '/v1' },
                                     temperature: 0, maxTokens: 100, maxRetries: 0 })
    .bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
                  parameters: z.toJSONSchema(weatherSchema) } }],
               { tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const t = await withTools.invoke('Weather in Paris?');
  eq(t.tool_calls.length, 1, `tool calls: ${JSON.stringify(t.tool_calls)}`);
  eq(t.tool_calls[0].name, 'get_weather', 'name');
  assert(weatherSchema.safeParse(t.tool_calls[0].args).success, JSON.stringify(t.tool_calls[0].args));
});

finish();
