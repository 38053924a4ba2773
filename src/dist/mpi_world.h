// The MPI world a process runs in. One place knows whether this build has MPI and whether
// mpirun started us; everything else asks it. Without MPI (or without mpirun) the world is one
// rank and nothing below talks to the network.
#pragma once
#include <cstdint>
#include <cstddef>
#include <memory>
#include <vector>

namespace frugal::dist {

struct World {
  int rank = 0, size = 1;
};

bool mpi_built();
// Initialises MPI when this process was started by mpirun (an MPI build); idempotent. A
// process that mpirun started but whose build has no MPI is an error: N copies would each run
// alone.
void init_world(int* argc, char*** argv);
void finalize_world();
World world();
// Ends every rank of the job (after an error on one of them): nobody waits forever for a
// message from a rank that is gone.
[[noreturn]] void abort_world(int code);
// A rank that died or hangs. Plain mpirun ends the whole job when a rank dies; under `mpirun
// --enable-recovery` the others live on, but Open MPI neither completes nor fails a transfer
// with the dead one, so every rank beats (a one-byte message every 100 ms, from a thread of
// its own) and a peer silent for FRUGAL_RANK_TIMEOUT seconds (default 10) is lost: on rank 0,
// rank_lost() names it and every transfer throws instead of waiting (the server answers 503);
// any other rank that loses rank 0 exits. -1 while all are heard; liveness_checked() is false
// where MPI lacks MPI_THREAD_MULTIPLE (then only mpirun's own ending of the job remains).
int rank_lost();
bool liveness_checked();

// Blocking point-to-point transfers (MPI_Send / MPI_Recv on MPI_COMM_WORLD); counts bytes and
// seconds spent in them for the wire statistics.
void send_bytes(const void* p, size_t n, int to, int tag);
void recv_bytes(void* p, size_t n, int from, int tag);
// Nonblocking transfers (MPI_Isend / MPI_Irecv): each buffer must stay untouched until
// wait() returns, which the destructor also does. MPI moves the data only while some MPI call
// runs on both sides, so a transfer meant to overlap a computation is started before it and
// waited for after.
class Transfers {
 public:
  Transfers();
  ~Transfers();
  Transfers(Transfers&&) noexcept;
  Transfers& operator=(Transfers&&) noexcept;
  void send(const void* p, size_t n, int to, int tag);
  void recv(void* p, size_t n, int from, int tag);
  void wait();

 private:
  struct Requests;
  std::unique_ptr<Requests> r_;
};
// Receives the next message from `from` on `tag`, whatever its size (< 2 GiB), into buf.
void recv_message(std::vector<char>& buf, int from, int tag);
struct WireStats {
  uint64_t bytes_sent = 0, bytes_received = 0;
  double seconds = 0;  // inside send / receive calls, waiting included
  uint64_t messages = 0;
};
WireStats wire_stats();

}  // namespace frugal::dist
