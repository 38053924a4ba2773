// The web chat page served at GET /: one self-contained HTML file (no external resources, so
// it works offline) that talks to the same /v1/chat/completions API as any client. It streams
// the answer, shows the reasoning dimmed and collapsible, tool calls as JSON, and the usage
// line (tokens, cache hits, speed); Stop aborts the request, which cancels the generation.
#include "server/web_page.h"

namespace frugal::server {

const char* web_page() {
  return R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>frugal chat</title>
<style>
  :root { --fg: #1d1d1f; --dim: #6e6e73; --bg: #fbfbfd; --line: #d2d2d7; --accent: #0b63ce; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
         display: flex; flex-direction: column; height: 100vh; }
  header { display: flex; gap: .5rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line);
           flex-wrap: wrap; }
  header h1 { font-size: 1rem; margin: 0 1rem 0 0; }
  header label { font-size: .85rem; color: var(--dim); display: flex; gap: .3rem; align-items: center; }
  input, select, textarea, button { font: inherit; }
  input[type=number] { width: 5rem; }
  #log { flex: 1; overflow-y: auto; padding: 1rem; }
  .msg { max-width: 52rem; margin: 0 auto 1rem; white-space: pre-wrap; word-wrap: break-word; }
  .user { background: #e8f0fe; padding: .5rem .75rem; border-radius: .5rem; }
  .assistant .reasoning { color: var(--dim); border-left: 3px solid var(--line); padding-left: .6rem; margin-bottom: .4rem; }
  .assistant details summary { cursor: pointer; color: var(--dim); font-size: .85rem; }
  .tool { font-family: ui-monospace, monospace; font-size: .85rem; background: #f2f2f7; padding: .4rem; border-radius: .3rem; }
  .usage { color: var(--dim); font-size: .8rem; margin-top: .3rem; }
  .error { color: #b00020; }
  .status { color: var(--dim); font-style: italic; }
  form { display: flex; gap: .5rem; padding: .75rem 1rem; border-top: 1px solid var(--line); max-width: 54rem; width: 100%;
         margin: 0 auto; }
  textarea { flex: 1; resize: vertical; min-height: 2.6rem; padding: .5rem; }
  button { padding: .4rem 1rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: .4rem; }
  button.secondary { background: transparent; color: var(--accent); }
</style>
</head>
<body>
<header>
  <h1>frugal</h1>
  <label>model <select id="model"></select></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></label>
  <label>max tokens <input id="max_tokens" type="number" min="1" value="512"></label>
  <label>thinking <select id="thinking"><option value="">default</option><option value="enabled">on</option>
    <option value="disabled">off</option></select></label>
  <label>API key <input id="key" type="password" size="12" placeholder="if required"></label>
  <button class="secondary" id="reset" type="button">New chat</button>
</header>
<div id="log" aria-live="polite"></div>
<form id="form">
  <textarea id="input" placeholder="Message (Enter sends, Shift+Enter for a new line)" required></textarea>
  <button id="send" type="submit">Send</button>
  <button id="stop" type="button" class="secondary" hidden>Stop</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const log = $("log");
let history = [];
let controller = null;
$("key").value = localStorage.getItem("frugal.key") || "";
$("key").addEventListener("change", () => { localStorage.setItem("frugal.key", $("key").value); loadModels(); });

function headers() {
  const h = { "Content-Type": "application/json" };
  if ($("key").value) h.Authorization = "Bearer " + $("key").value;
  return h;
}
// The picker shows each model's state on the shelf ("loading 40%", "failed: why"); it is
// refreshed every few seconds, in place, so an open list keeps its selection.
let states = {};
function label(m) {
  if (!m.state || m.state === "loaded") return m.id;
  if (m.state === "loading") return `${m.id} (loading ${Math.round(100 * (m.progress || 0))}%)`;
  return `${m.id} (${m.state})`;
}
async function loadModels() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? j.error.message : r.status);
    const sel = $("model"), ids = j.data.map((m) => m.id);
    if ([...sel.options].map((o) => o.value).join("\n") !== ids.join("\n")) {
      const keep = sel.value;
      sel.innerHTML = "";
      for (const m of j.data) sel.add(new Option(label(m), m.id));
      if (ids.includes(keep)) sel.value = keep;
    }
    states = {};
    j.data.forEach((m, i) => {
      states[m.id] = m.state || "loaded";
      sel.options[i].textContent = label(m);
      sel.options[i].title = m.error || "";
    });
  } catch (e) { addError("models: " + e.message); }
}
setInterval(() => { if (!document.hidden) loadModels(); }, 4000);
function el(cls, parent, tag = "div") {
  const d = document.createElement(tag);
  d.className = cls;
  parent.appendChild(d);
  return d;
}
function addError(text) { el("msg error", log).textContent = text; }
// Once per frame however fast tokens arrive: a layout per token starves the page on a busy machine.
let scrollPending = false;
function scroll() {
  if (scrollPending) return;
  scrollPending = true;
  requestAnimationFrame(() => { scrollPending = false; log.scrollTop = log.scrollHeight; });
}

async function send(text) {
  history.push({ role: "user", content: text });
  el("msg user", log).textContent = text;
  const box = el("msg assistant", log);
  box.dataset.state = "streaming";
  const det = el("", box, "details");
  det.open = true;
  det.hidden = true;
  el("", det, "summary").textContent = "reasoning";
  const reasoning = el("reasoning", det);
  const content = el("content", box);
  const tools = el("tools", box);
  const usage = el("usage", box);
  // A model not loaded yet answers after its load: say so instead of looking stuck.
  const status = el("status", box);
  if (states[$("model").value] !== "loaded") status.textContent = `loading ${$("model").value}…`;
  const body = { model: $("model").value, messages: history, stream: true, stream_options: { include_usage: true },
                 temperature: Number($("temperature").value), max_tokens: Number($("max_tokens").value) };
  if ($("thinking").value) body.thinking = { type: $("thinking").value };
  controller = new AbortController();
  $("send").hidden = true; $("stop").hidden = false;
  const t0 = performance.now();
  let first = 0, finish = "", calls = [], answer = "", thought = "";
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body),
                                                   signal: controller.signal });
    if (!r.ok) { const j = await r.json(); throw new Error(j.error ? j.error.message : "HTTP " + r.status); }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (ev.startsWith(": loading")) { status.textContent = ev.slice(2); continue; }
        if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
        const j = JSON.parse(ev.slice(6));
        if (j.error) throw new Error(j.error.message);
        if (j.usage) {
          const u = j.usage, secs = (performance.now() - (first || t0)) / 1000;
          usage.textContent = `${u.prompt_tokens} prompt tokens (${u.prompt_cache_hit_tokens} cached), ` +
            `${u.completion_tokens} completion tokens` +
            (u.completion_tokens_details.reasoning_tokens ? ` (${u.completion_tokens_details.reasoning_tokens} reasoning)` : "") +
            `, ${(u.completion_tokens / Math.max(secs, 1e-3)).toFixed(1)} tokens/s` + (finish ? `, ${finish}` : "");
        }
        for (const c of j.choices || []) {
          const d = c.delta || {};
          if (!first && (d.content || d.reasoning_content)) { first = performance.now(); status.textContent = ""; }
          // Appended as text nodes: never parsed as HTML, and O(1) per token (rewriting the
          // whole text each time made long answers quadratic).
          if (d.reasoning_content) { det.hidden = false; thought += d.reasoning_content; reasoning.append(d.reasoning_content); }
          if (d.content) { answer += d.content; content.append(d.content); }
          for (const tc of d.tool_calls || []) {
            calls[tc.index] = tc;
            el("tool", tools).textContent = `${tc.function.name}(${tc.function.arguments})`;
          }
          if (c.finish_reason) finish = c.finish_reason;
        }
        scroll();
      }
    }
    const msg = { role: "assistant", content: answer.trim() };
    if (calls.length) msg.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: c.function }));
    history.push(msg);
    if (thought) det.open = false;
  } catch (e) {
    if (e.name === "AbortError") { usage.textContent = "stopped"; history.push({ role: "assistant", content: answer.trim() }); }
    else { history.pop(); status.textContent = ""; el("error", box).textContent = e.message; }
  } finally {
    if (first) status.textContent = "";
    loadModels();
    box.dataset.state = "done";
    controller = null;
    $("send").hidden = false; $("stop").hidden = true;
  }
}

$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
});
$("stop").addEventListener("click", () => controller && controller.abort());
$("reset").addEventListener("click", () => { history = []; log.innerHTML = ""; });
loadModels();
</script>
</body>
</html>
)HTML";
}

}  // namespace frugal::server
