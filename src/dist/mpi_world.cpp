#include "dist/mpi_world.h"

#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <type_traits>

#include "core/clock.h"
#include "core/error.h"

#ifdef FRUGAL_HAVE_MPI
#include <mpi.h>
#endif

namespace frugal::dist {

namespace {
World g_world;
bool g_init = false;
WireStats g_wire;
std::mutex g_wire_mu;

// Liveness (see rank_lost in the header): every rank sends a one-byte heartbeat to its peers
// (rank 0 to all, the others to rank 0) every kBeatMs and notes when it last heard each of
// them; a peer silent for g_timeout_s is lost. A thread of its own does this (MPI_THREAD_MULTIPLE),
// so a rank busy computing, or waiting in a transfer, still beats.
constexpr int kTagHeartbeat = 90;
constexpr int kBeatMs = 100;
std::atomic<int> g_lost{-1};
std::atomic<bool> g_beat_stop{false};
std::thread g_beat;
double g_timeout_s = 10.0;
bool g_liveness = false;

[[maybe_unused]] void lost_message(int peer) {
  std::fprintf(stderr, "frugal: rank %d of the MPI job has not been heard from for %.0f s: it died or hangs\n", peer,
               g_timeout_s);
}
// Whether rank `me` exchanges heartbeats with rank p: rank 0 with every rank, the others with
// rank 0 only.
[[maybe_unused]] bool beats_with(int me, int p) { return p != me && (me == 0 || p == 0); }
// What a wait does once a peer is lost, instead of waiting forever for a message that will
// not come.
[[maybe_unused]] void throw_if_lost() {
  if (const int r = g_lost.load(std::memory_order_relaxed); r >= 0)
    fail("rank %d of the MPI job stopped answering (no heartbeat for %.0f s)", r, g_timeout_s);
}

// mpirun (Open MPI, MPICH / PMI, PMIx) tells its processes the world size in the environment.
int launcher_world_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 0;
}

[[maybe_unused]] void count(size_t sent, size_t received, double t0, uint64_t messages = 1) {
  std::lock_guard<std::mutex> l(g_wire_mu);
  g_wire.bytes_sent += sent;
  g_wire.bytes_received += received;
  g_wire.seconds += now_seconds() - t0;
  g_wire.messages += messages;
}

// Calls f(piece, bytes) over p[0, n) in pieces below MPI's int count limit (one call for n = 0).
template <class T, class F>
[[maybe_unused]] void in_pieces(T* p, size_t n, F f) {
  auto* c = reinterpret_cast<std::conditional_t<std::is_const_v<T>, const char, char>*>(p);
  do {
    const size_t piece = std::min<size_t>(n, size_t(1) << 30);
    f(c, int(piece));
    c += piece;
    n -= piece;
  } while (n > 0);
}
}  // namespace

#ifdef FRUGAL_HAVE_MPI
// The heartbeat thread (init_world .. finalize_world). Rank 0 notes a lost peer (rank_lost)
// and goes on serving; any other rank that loses rank 0 has nobody left to work for and
// ends itself.
void heartbeats() {
  const int me = g_world.rank, n = g_world.size;
  std::vector<double> seen(size_t(n), now_seconds());
  char beat = 0, sink = 0;
  while (!g_beat_stop.load(std::memory_order_relaxed)) {
    for (int p = 0; p < n; ++p) {
      if (!beats_with(me, p) || p == g_lost.load()) continue;
      MPI_Request r;
      MPI_Isend(&beat, 1, MPI_BYTE, p, kTagHeartbeat, MPI_COMM_WORLD, &r);
      MPI_Request_free(&r);  // a beat to a peer that died never completes; nothing waits for it
    }
    for (;;) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagHeartbeat, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      MPI_Recv(&sink, 1, MPI_BYTE, st.MPI_SOURCE, kTagHeartbeat, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      seen[size_t(st.MPI_SOURCE)] = now_seconds();
    }
    const double t = now_seconds();
    for (int p = 0; p < n; ++p) {
      if (!beats_with(me, p) || t - seen[size_t(p)] <= g_timeout_s) continue;
      if (me != 0) {
        lost_message(p);
        std::fflush(stderr);
        _exit(1);
      }
      int none = -1;
      if (g_lost.compare_exchange_strong(none, p)) lost_message(p);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kBeatMs));
  }
}

// Waits for the requests like MPI_Waitall, polling; throws once a peer is lost (rank_lost)
// instead of waiting forever for a message that will not come.
void wait_all(std::vector<MPI_Request>& reqs) {
  for (;;) {
    int done = 0;
    MPI_Testall(int(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return;
    if (g_lost.load(std::memory_order_relaxed) >= 0) {
      reqs.clear();  // left to MPI: the job cannot use this peer again
      throw_if_lost();
    }
  }
}
#endif

bool mpi_built() {
#ifdef FRUGAL_HAVE_MPI
  return true;
#else
  return false;
#endif
}

void init_world(int* argc, char*** argv) {
  if (g_init) return;
  g_init = true;
  const int launched = launcher_world_size();
#ifdef FRUGAL_HAVE_MPI
  if (launched < 1) return;  // not under mpirun: one rank, no MPI at all
  int provided = 0;
  // MPI starts threads of its own: they must never take SIGTERM / SIGINT, which `serve` waits
  // for in one thread of its own (a signal delivered to them would kill the process outright).
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, &old);
  // The engine thread (not main) talks to the other ranks, one call at a time; the heartbeat
  // thread (started below) beside it.
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "frugal: this MPI library cannot be called from a thread other than main\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world.size);
  if (const char* t = std::getenv("FRUGAL_RANK_TIMEOUT")) {
    const double v = std::atof(t);
    if (v > 0) g_timeout_s = std::max(0.5, v);  // (a few beats at least; garbage keeps the default)
    else std::fprintf(stderr, "frugal: FRUGAL_RANK_TIMEOUT=%s is not a number of seconds; using %.0f\n", t, g_timeout_s);
  }
  g_liveness = provided >= MPI_THREAD_MULTIPLE && g_world.size > 1;
  if (g_liveness) g_beat = std::thread(heartbeats);  // with TERM and INT still blocked, as MPI's own
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
#else
  (void)argc, (void)argv;
  if (launched > 1)
    fail("started by mpirun with %d ranks, but this frugal was built without MPI: install Open MPI "
         "(scripts/install-deps.sh) and rebuild, or run it without mpirun",
         launched);
#endif
}

void finalize_world() {
#ifdef FRUGAL_HAVE_MPI
  if (g_beat.joinable()) {
    g_beat_stop = true;
    g_beat.join();
  }
  // MPI_Finalize waits for every rank, a lost one included: end the others instead.
  if (g_lost.load() >= 0) abort_world(1);
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  if (up && !down) MPI_Finalize();
#endif
}

int rank_lost() { return g_lost.load(); }
bool liveness_checked() { return g_liveness; }

World world() { return g_world; }

void abort_world(int code) {
#ifdef FRUGAL_HAVE_MPI
  int up = 0;
  MPI_Initialized(&up);
  if (up && g_world.size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void send_bytes(const void* p, size_t n, int to, int tag) {
#ifdef FRUGAL_HAVE_MPI
  const double t0 = now_seconds();
  std::vector<MPI_Request> reqs;
  in_pieces(p, n, [&](const char* c, int k) { MPI_Isend(c, k, MPI_BYTE, to, tag, MPI_COMM_WORLD, &reqs.emplace_back()); });
  wait_all(reqs);
  count(n, 0, t0);
#else
  (void)p, (void)n, (void)to, (void)tag;
  fail("send_bytes: this build has no MPI");
#endif
}

void recv_bytes(void* p, size_t n, int from, int tag) {
#ifdef FRUGAL_HAVE_MPI
  const double t0 = now_seconds();
  std::vector<MPI_Request> reqs;
  in_pieces(p, n, [&](char* c, int k) { MPI_Irecv(c, k, MPI_BYTE, from, tag, MPI_COMM_WORLD, &reqs.emplace_back()); });
  wait_all(reqs);
  count(0, n, t0);
#else
  (void)p, (void)n, (void)from, (void)tag;
  fail("recv_bytes: this build has no MPI");
#endif
}

struct Transfers::Requests {
#ifdef FRUGAL_HAVE_MPI
  std::vector<MPI_Request> reqs;
#endif
  size_t sent = 0, received = 0;
  uint64_t messages = 0;
};

Transfers::Transfers() : r_(std::make_unique<Requests>()) {}
// A wait that throws (a lost rank, rank_lost) must not escape these two: their transfers
// are abandoned with the peer.
Transfers::~Transfers() {
  try {
    if (r_) wait();
  } catch (const Error&) {
  }
}
Transfers::Transfers(Transfers&&) noexcept = default;
Transfers& Transfers::operator=(Transfers&& o) noexcept {
  if (this != &o) {
    try {
      if (r_) wait();
    } catch (const Error&) {
    }
    r_ = std::move(o.r_);
  }
  return *this;
}

void Transfers::send(const void* p, size_t n, int to, int tag) {
#ifdef FRUGAL_HAVE_MPI
  r_->sent += n;
  ++r_->messages;
  in_pieces(p, n, [&](const char* c, int k) {
    MPI_Isend(c, k, MPI_BYTE, to, tag, MPI_COMM_WORLD, &r_->reqs.emplace_back());
  });
#else
  (void)p, (void)n, (void)to, (void)tag;
  fail("Transfers::send: this build has no MPI");
#endif
}

void Transfers::recv(void* p, size_t n, int from, int tag) {
#ifdef FRUGAL_HAVE_MPI
  r_->received += n;
  ++r_->messages;
  in_pieces(p, n, [&](char* c, int k) {
    MPI_Irecv(c, k, MPI_BYTE, from, tag, MPI_COMM_WORLD, &r_->reqs.emplace_back());
  });
#else
  (void)p, (void)n, (void)from, (void)tag;
  fail("Transfers::recv: this build has no MPI");
#endif
}

void Transfers::wait() {
#ifdef FRUGAL_HAVE_MPI
  if (r_->reqs.empty()) return;
  const double t0 = now_seconds();
  wait_all(r_->reqs);
  count(r_->sent, r_->received, t0, r_->messages);
  r_->reqs.clear();
  r_->sent = r_->received = 0;
  r_->messages = 0;
#endif
}

void recv_message(std::vector<char>& buf, int from, int tag) {
#ifdef FRUGAL_HAVE_MPI
  const double t0 = now_seconds();
  MPI_Status st;
  for (int flag = 0; !flag;) {
    MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, &st);
    if (!flag) throw_if_lost();
  }
  int n = 0;
  MPI_Get_count(&st, MPI_BYTE, &n);
  buf.resize(size_t(n));
  MPI_Recv(buf.data(), n, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  count(0, size_t(n), t0);
#else
  (void)buf, (void)from, (void)tag;
  fail("recv_message: this build has no MPI");
#endif
}

WireStats wire_stats() {
  std::lock_guard<std::mutex> l(g_wire_mu);
  return g_wire;
}

}  // namespace frugal::dist
