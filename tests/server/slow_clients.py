"""Slow clients cannot hold `frugal serve` (started by test_slow_clients.sh with --timeout 2).

1. 150 clients trickle their request headers a byte every half second (each read well within
   the timeout, so no per-read timeout ever fires): more than a fixed pool of connection
   threads (cpp-httplib's, 84 for this server before) could hold. Normal requests are still
   answered, promptly, while they trickle.
2. A client that sends half a header and then nothing is dropped after the timeout.
3. A client that asks for a long stream and never reads it: once the socket buffers are full
   the server's write times out, the generation is cancelled (far fewer tokens generated than
   asked) and its slot freed.
Afterwards the server is idle (no connection threads busy, nothing running, no KV held).
Usage: python3 slow_clients.py BASE_URL
"""
import json
import re
import socket
import sys
import threading
import time
import urllib.request

base = sys.argv[1]
host, port = re.match(r'http://([^:/]+):(\d+)', base).groups()
port = int(port)
failures = []


def check(name, ok, detail=''):
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else f': {detail}'), flush=True)
    if not ok:
        failures.append(name)


def metrics():
    try:
        text = urllib.request.urlopen(base + '/metrics', timeout=10).read().decode()
    except Exception:  # no answer: a server held by its slow clients
        return {}
    out = {}
    for line in text.splitlines():  # per-model gauges are summed over their labels
        m = re.match(r'^(frugal_[a-z_]+)(?:\{[^}]*\})? (\S+)$', line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
    return out


def chat(max_tokens=8):
    body = json.dumps({'messages': [{'role': 'user', 'content': 'Hello!'}], 'max_tokens': max_tokens, 'temperature': 0}).encode()
    req = urllib.request.Request(base + '/v1/chat/completions', data=body, headers={'Content-Type': 'application/json'})
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, time.time() - t0
    except Exception as e:  # a timeout or a refusal
        return repr(e), time.time() - t0


def eventually(cond, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


# 1. Tricklers.
N = 150
tricklers = []
for _ in range(N):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    tricklers.append(s)
stop = threading.Event()


def trickle():
    while not stop.is_set():
        for s in tricklers:
            try:
                s.send(b'a')
            except OSError:
                pass
        stop.wait(0.5)


t = threading.Thread(target=trickle)
t.start()
check(f'{N} trickling connections each hold a thread of their own',
      eventually(lambda: metrics().get('frugal_http_connections', 0) >= N, 10), metrics().get('frugal_http_connections'))
time.sleep(3)  # longer than --timeout: the per-read timeout must not be what saves the server
results = [chat() for _ in range(5)]
check('normal requests are answered while they trickle', all(r[0] == 200 for r in results), results)
check('... promptly (< 5 s each)', all(r[1] < 5 for r in results), results)
stop.set()
t.join()
for s in tricklers:
    s.close()

# 2. A half header, then silence: dropped after the timeout (2 s).
s = socket.create_connection((host, port), timeout=15)
s.sendall(b'GET /health HTTP/1.1\r\nHo')
t0 = time.time()
try:
    data = s.recv(100)
except OSError:
    data = b''
waited = time.time() - t0
check('a client that stops sending is dropped after the timeout', waited < 8 and not data.startswith(b'HTTP/1.1 200'),
      f'{waited:.1f} s, {data[:60]!r}')
s.close()

# 3. A stream nobody reads.
before = metrics()
ASK = 60000
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
# 20 top logprobs make each event ~3 KB: the socket buffers (autotuned to a megabyte or more on
# loopback) fill within a few hundred tokens even in a sanitizer build.
body = json.dumps({'messages': [{'role': 'user', 'content': 'Tell me a long story.'}], 'max_tokens': ASK, 'ignore_eos': True,
                   'stream': True, 'temperature': 0, 'logprobs': True, 'top_logprobs': 20}).encode()
s.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: '
          + str(len(body)).encode() + b'\r\n\r\n' + body)
check('the unread stream starts', eventually(lambda: metrics().get('frugal_requests_running', 0) >= 1, 10))
check('... and is cancelled once its writes time out', eventually(lambda: metrics().get('frugal_requests_running', 1) == 0, 60))
made = metrics().get('frugal_generation_tokens_total', 0) - before.get('frugal_generation_tokens_total', 0)
check(f'... long before its {ASK} tokens', made < ASK / 2, made)
s.close()

# Afterwards: healthy and idle.
status, _ = chat()
check('healthy afterwards', status == 200, status)
idle = lambda: (lambda m: m.get('frugal_http_connections', 9) <= 1 and m.get('frugal_requests_running', 1) == 0
                and m.get('frugal_kv_used_tokens', 1) == 0)(metrics())
check('idle afterwards: one connection (this scrape), nothing running, no KV held', eventually(idle, 15), metrics())
sys.exit(1 if failures else 0)
