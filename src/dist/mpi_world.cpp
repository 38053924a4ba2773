#include "dist/mpi_world.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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
  // The engine thread (not main) talks to the other ranks, one call at a time.
  MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "frugal: this MPI library cannot be called from a thread other than main\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world.size);
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
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  if (up && !down) MPI_Finalize();
#endif
}

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
  in_pieces(p, n, [&](const char* c, int k) { MPI_Send(c, k, MPI_BYTE, to, tag, MPI_COMM_WORLD); });
  count(n, 0, t0);
#else
  (void)p, (void)n, (void)to, (void)tag;
  fail("send_bytes: this build has no MPI");
#endif
}

void recv_bytes(void* p, size_t n, int from, int tag) {
#ifdef FRUGAL_HAVE_MPI
  const double t0 = now_seconds();
  in_pieces(p, n, [&](char* c, int k) { MPI_Recv(c, k, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE); });
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
Transfers::~Transfers() {
  if (r_) wait();
}
Transfers::Transfers(Transfers&&) noexcept = default;
Transfers& Transfers::operator=(Transfers&& o) noexcept {
  if (this != &o) {
    if (r_) wait();
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
  MPI_Waitall(int(r_->reqs.size()), r_->reqs.data(), MPI_STATUSES_IGNORE);
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
  MPI_Probe(from, tag, MPI_COMM_WORLD, &st);
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
