// A team of MPI ranks whose rank 0 is the calling process (the benchmark, a
// test), and the messages that keep them in lockstep.
//
// How ranks start, two ways:
// - Launched: the whole program runs under `mpirun -np P` (what the sweep
//   does, on this host or across a hostfile's hosts). Rank 0 of
//   MPI_COMM_WORLD is the benchmark process; ranks >= 1 become followers
//   before main does anything else (launched_rank()). A team of P ranks is
//   then the world: one job, so Open MPI's shared-memory transport (vader)
//   joins ranks on one host. Asking for another size is an error.
// - Spawned: a process not launched that way (a test, `parbench_bench` run by
//   hand) initialises MPI as a singleton and MPI_Comm_spawn-s p - 1 copies
//   of its binary with `--parbench-worker=mpi`, merged into one communicator
//   in which it is rank 0. Spawned ranks are another job: Open MPI joins them
//   to rank 0 over TCP, even on one host (measured: 13 us one way for 8 B
//   against well under 1 us through shared memory), so figures from spawned
//   teams say so (transport()).
// Teams are kept per size until the process exits (spawning costs ~0.3 s),
// and their ranks wait for commands sleeping, not spinning (Team::receive).
//
// Faults: rank 0 waits for every message through Team::wait, which notices
// within ~50 ms that a rank on this host has gone (killed, crashed) and
// throws; the team is then marked broken and never used again (Open MPI's
// runtime kills the job's other ranks). A rank whose rank 0 has gone (its
// parent, Open MPI's orted, exits and it is re-parented) exits at once.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace parbench::mpi {

/// What the other ranks are to do next, broadcast by rank 0. Fixed size, so
/// that a rank waiting for one can post its receive in advance.
struct Command {
  enum Op : std::uint32_t {
    exit,              ///< leave the team (the process exits)
    attach,            ///< a new executor on rank 0: make a fresh one
    detach,            ///< rank 0's executor is gone: drop ours
    prepare,           ///< prepare workload `text` at size args[0]
    run,               ///< run the prepared instance once
    verify,            ///< verify it; reply with the verdict
    corrupt,           ///< damage its result (tests of the verifiers)
    destroy,           ///< destroy it
    executor_program,  ///< call program args[0] (an offset, see to_offset) with our executor
    team_program,      ///< call program args[0] with the team and this command
  };
  std::uint32_t op = exit;
  std::uint32_t reserved = 0;
  std::uint64_t args[5] = {};
  char text[208] = {};
};
static_assert(sizeof(Command) == 256);

class Team;
/// A function every rank of a team runs at once (the mpi/ benchmarks).
using TeamProgram = void (*)(Team& team, const Command& command);

/// A function of this program as an offset that is the same in every copy
/// of the binary (the address differs: position-independent executables are
/// loaded at random addresses), and back.
std::uint64_t to_offset(const void* function);
const void* from_offset(std::uint64_t offset);

class Team {
 public:
  /// Rank 0's team of `size` ranks (>= 2), spawned on first use and kept.
  /// Throws std::runtime_error with Open MPI's reason if it cannot start.
  static Team& of_size(int size);
  /// This process's rank in the job mpirun launched (OMPI_COMM_WORLD_RANK),
  /// or -1 if it was not launched by mpirun with more than one rank.
  static int launched_rank();
  /// In a launched process of rank >= 1: its team, the world.
  static Team join_world();
  /// How the ranks of teams in this process are joined: "launched" (one job
  /// of mpirun) or "spawned" (MPI_Comm_spawn: TCP to rank 0).
  static const char* transport();

  /// In a process started with --parbench-worker=mpi: its team (rank >= 1).
  /// argv's NAME=VALUE arguments (rank 0's PARBENCH_* settings) are set in
  /// this process's environment first.
  static Team join_parent(int argc, char** argv);
  /// The team on comm (a merged intercommunicator, kept for disconnecting):
  /// every rank calls it at once to learn the others' hosts and pids.
  static Team connect(MPI_Comm comm, MPI_Comm inter);

  Team(Team&& other) noexcept;
  Team& operator=(Team&&) = delete;
  ~Team();

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm comm() const noexcept { return comm_; }
  bool broken() const noexcept { return broken_; }

  /// Rank 0: tells every other rank what to do next.
  void send(const Command& command);
  /// Rank 0: sends its PARBENCH_* environment; ranks >= 1: receive it and
  /// make theirs the same (set and unset), so that SPMD code reads the same
  /// settings everywhere even when they changed after the ranks started.
  void share_settings();

  /// Ranks >= 1: waits for rank 0's next command, sleeping after ~50 us of
  /// polling so that an idle team takes no CPU.
  Command receive();

  /// Completes request. On rank 0 it checks every ~50 ms that the other
  /// ranks on this host are alive, and throws std::runtime_error naming the
  /// lost rank (`during` says what was going on) if one is not; the team is
  /// then broken. Other ranks spin, then yield (they may share a core).
  void wait(MPI_Request& request, const char* during);

  /// MPI_Allgather / MPI_Allgatherv of bytes on this team. In a launched job
  /// they are the blocking calls (Open MPI's tuned collectives; a lost rank
  /// makes mpirun end the whole job, rank 0 included, so nothing can hang);
  /// in a spawned team, the non-blocking ones completed through wait(), which
  /// notices a lost rank.
  void allgather(const void* mine, int bytes, void* all, const char* during);
  void allgatherv(const void* mine, int bytes, void* all, const int* counts, const int* offsets,
                  const char* during);

  /// Every rank reports ok or a message; rank 0 gets the first failure as
  /// "rank R: message" (empty: every rank was ok). Others get "".
  std::string gather_outcome(bool ok, const std::string& message, const char* during);

  /// Rank 0: runs program on every rank (itself included) with command,
  /// then throws the first rank's failure, if any.
  void run(TeamProgram program, Command command);
  /// Rank 0, in two steps for a program whose rank-0 side is not `program`
  /// (a benchmark's timed loop): start() has every other rank call program
  /// with command; finish() collects their outcomes with rank 0's own
  /// (error: empty if it went well) and throws the first failure.
  void start(TeamProgram program, Command command);
  void finish(const std::string& error);

  /// One executor at a time drives a team (its ranks keep one executor
  /// each): claim() returns false while another holds it.
  bool claim() noexcept { return !std::exchange(claimed_, true); }
  void release() noexcept { claimed_ = false; }

  /// Dynamic chunk claims (the mpi model's default schedule): a counter in
  /// memory that every rank maps, made when the team forms if all its ranks
  /// share one host (MPI_Win_allocate_shared), so a claim is one atomic
  /// fetch-add (~20-50 ns), with no message and no progress needed from
  /// rank 0. Teams across hosts have none (can_claim() false).
  bool can_claim() const noexcept { return claim_counter_ != nullptr; }
  /// The next chunk of the current region for this rank: a value >= chunks
  /// means none is left. Every rank must call it until it gets one >= chunks
  /// (each rank's last claim is one past the end), then end_claims(chunks)
  /// once, all in the same regions: the counter is never reset (that would
  /// need a barrier); each region starts where the last one's claims ended,
  /// which every rank computes alike.
  std::uint64_t claim_chunk() noexcept;
  void end_claims(std::uint64_t chunks) noexcept {
    claims_base_ += chunks + static_cast<std::uint64_t>(size_);
  }

  /// Buffers for exchanging memory changes, kept with the team rather than
  /// an executor (made per benchmark repetition) so that their pages are
  /// faulted in once per process, not once per repetition.
  std::vector<std::byte>& send_buffer() noexcept { return send_buffer_; }
  std::vector<std::byte>& receive_buffer() noexcept { return receive_buffer_; }

  /// Host names of the ranks (rank 0 only; empty elsewhere).
  const std::vector<std::string>& hosts() const noexcept { return hosts_; }

 private:
  Team(MPI_Comm comm, int rank, int size) : comm_(comm), rank_(rank), size_(size) {}
  void check_alive(const char* during);
  void share_claim_counter();

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm intercomm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool broken_ = false;
  bool claimed_ = false;
  std::vector<std::string> hosts_;  ///< per rank (rank 0's view)
  std::vector<long> pids_;          ///< per rank (rank 0's view)
  MPI_Comm node_ = MPI_COMM_NULL;   ///< the ranks of this host (for the window)
  MPI_Win claim_window_ = MPI_WIN_NULL;
  std::uint64_t* claim_counter_ = nullptr;  ///< in claim_window_, on rank 0
  std::uint64_t claims_base_ = 0;           ///< the counter's value when this region began
  std::vector<std::byte> send_buffer_, receive_buffer_;
};

/// Initialises MPI in this process if it is not yet (Open MPI's settings
/// for root and oversubscription set here unless the user set them; in a
/// process not started by mpirun, without PARBENCH_MPI_HOSTFILE, Open MPI's
/// listeners confined to loopback: see mpi/loopback.hpp).
void initialise();

/// Open MPI's version and the transports it will use, for env.json.
std::string library_version();

}  // namespace parbench::mpi
