// mpi: p Open MPI ranks, separate processes that may run on other hosts.
// Rank 0 is the calling process; the others are copies of this program
// (mpi/team.hpp says how they start, are kept and fail).
//
// - SPMD: a rank cannot run a closure made on another (it holds pointers into
//   that process's memory), so every rank runs the same code: the instance's
//   life (prepare, run, verify, corrupt, destroy) and the model tests'
//   programs (Executor::run_everywhere) are broadcast by rank 0 as commands,
//   and each rank does the same calls on its own executor and its own copy of
//   the seeded input. Calling parallel_for on rank 0 outside such code is an
//   error (std::logic_error): the other ranks would not be there.
// - parallel_for, which chunks a rank runs (PARBENCH_MPI_SCHEDULE):
//   dynamic (the default where every rank is on one host): each rank claims
//   the next chunk from a counter all ranks map (Team::claim_chunk, one
//   atomic add), so a slower rank or a costlier chunk balances itself;
//   cyclic (the default across hosts, where a claim would be a message to
//   rank 0 that needs rank 0 to make progress): rank r runs chunks r, r + p,
//   r + 2p, ...; block: rank r runs one contiguous block. Measured here at
//   p = 2 (quiet machine, efficiency): primes 0.98 cyclic, 0.80 block;
//   mandelbrot 0.93 cyclic, 0.97 block; see the README for dynamic.
//   Then the ranks exchange the bytes each changed in executor
//   memory (mpi/change_tracker.hpp: a twin copy before, a per-line byte mask
//   after) with one MPI_Allgather of sizes and one MPI_Allgatherv of changes,
//   so every rank's memory is identical again; a rank whose body threw sends
//   the message instead and every rank throws it (std::runtime_error).
//   Regions nested inside a body run on the calling rank alone.
// - fork_join runs a then b on every rank (SPMD: there is no shared memory
//   to split a recursion over); spawn_tasks is a parallel_for of grain 1.
// - Counters of a prepared instance: mpi_bytes_exchanged (bytes all ranks
//   sent, per run) and mpi_exchange_seconds (rank 0's time to copy, compare,
//   exchange and apply, per run), so the report can split compute from
//   communication.
// - p = 1 is one rank: no MPI at all (nothing to exchange).
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/first_exception.hpp"
#include "core/model.hpp"
#include "core/spin.hpp"
#include "core/workload.hpp"
#include "mpi/change_tracker.hpp"
#include "mpi/team.hpp"

namespace parbench {
namespace {

using mpi::Command;
using mpi::Team;

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& failure) {
    return *failure.what() != '\0' ? failure.what() : "exception";
  } catch (...) {
    return "unknown exception";
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

enum class Schedule { dynamic, cyclic, block };

struct ExchangeStats {
  double bytes = 0, seconds = 0, regions = 0;
};

class MpiExecutor final : public RangeOnlyExecutor {
 public:
  /// Rank 0 with p ranks (p = 1: no team).
  explicit MpiExecutor(std::size_t ranks) : ranks_(ranks) {
    read_schedule(nullptr);  // an unknown PARBENCH_MPI_SCHEDULE is an error before anything starts
    if (ranks_ < 2) return;
    if (ranks_ > INT_MAX) throw std::invalid_argument("mpi: too many ranks");
    // Every rank must spin as many iterations per request as rank 0 (the
    // calibration is measured per process): they get it with the settings.
    char calibration[32];
    std::snprintf(calibration, sizeof(calibration), "%.17g", spin_iterations_per_us());
    setenv("PARBENCH_SPIN_ITERS_PER_US", calibration, 0);
    Team& team = Team::of_size(static_cast<int>(ranks_));
    if (!team.claim())
      throw std::logic_error("mpi: another executor of " + std::to_string(ranks_) +
                             " ranks is alive in this process (one at a time per rank count)");
    team_ = &team;
    schedule_ = read_schedule(team_);
    try {
      team_->send(Command{.op = Command::attach});
      team_->share_settings();
    } catch (...) {
      team_->release();
      throw;
    }
  }
  /// Rank >= 1: the executor a rank keeps while rank 0's exists.
  explicit MpiExecutor(Team& team)
      : ranks_(static_cast<std::size_t>(team.size())),
        team_(&team),
        follower_(true),
        schedule_(read_schedule(&team)) {}

  ~MpiExecutor() override {
    if (team_ == nullptr || follower_) return;
    if (!team_->broken()) {
      try {
        team_->send(Command{.op = Command::detach});
      } catch (const std::exception&) {  // a lost rank: nothing to tell
      }
    }
    team_->release();
  }

  std::size_t workers() const noexcept override { return ranks_; }

  Memory allocate(std::size_t bytes) override {
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096;
    Memory pages = allocate_pages(rounded, false);
    if (team_ == nullptr || !in_lockstep() || in_region_) return pages;  // not shared
    void* data = pages.data();
    tracker_.add(data, rounded);
    tracked_.emplace(data, std::move(pages));
    return Memory(data, rounded, &release_tracked, this);
  }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (team_ == nullptr || in_region_) {
      for (std::size_t c = 0; c < chunks; ++c) {
        const Chunk chunk = chunk_bounds(n, grain, c);
        body(chunk.lo, chunk.hi);
      }
      return;
    }
    if (!in_lockstep())
      throw std::logic_error(
          "mpi: parallel_for called by rank 0 alone; code that uses the mpi model must run on "
          "every rank (Executor::prepare or Executor::run_everywhere)");
    const auto start = std::chrono::steady_clock::now();
    tracker_.snapshot();
    const double snapshot_seconds = seconds_since(start);
    std::string error;
    in_region_ = true;
    // A chunk after a body threw is skipped (its region fails anyway); under
    // dynamic claims every rank still claims until the counter runs out, so
    // that the next region starts where every rank expects.
    const auto run = [&](std::size_t c) {
      if (!error.empty()) return;
      try {
        run_chunk(n, grain, c, body);
      } catch (...) {
        error = describe(std::current_exception());
      }
    };
    const auto rank = static_cast<std::size_t>(team_->rank());
    switch (schedule_) {
      case Schedule::dynamic:
        for (std::uint64_t c; (c = team_->claim_chunk()) < chunks;) run(c);
        team_->end_claims(chunks);
        break;
      case Schedule::block:
        for (std::size_t c = chunks * rank / ranks_; c < chunks * (rank + 1) / ranks_; ++c) run(c);
        break;
      case Schedule::cyclic:
        for (std::size_t c = rank; c < chunks; c += ranks_) run(c);
        break;
    }
    in_region_ = false;
    const auto exchange_start = std::chrono::steady_clock::now();
    exchange(error);
    stats_.seconds += snapshot_seconds + seconds_since(exchange_start);
    stats_.regions += 1;
  }

  std::unique_ptr<Instance> prepare(const WorkloadInfo& workload, std::size_t n) override;

  void run_everywhere(Program program) override {
    if (team_ == nullptr) {
      program(*this);
      return;
    }
    Command command{.op = Command::executor_program};
    command.args[0] = mpi::to_offset(reinterpret_cast<const void*>(program));
    team_->send(command);
    std::exception_ptr mine;
    {
      const Lockstep lockstep(*this);
      try {
        program(*this);
      } catch (...) {
        mine = std::current_exception();
      }
    }
    if (mine && team_->broken()) std::rethrow_exception(mine);  // nobody left to ask
    const std::string outcome =
        team_->gather_outcome(!mine, mine ? describe(mine) : "", "running a program");
    if (mine) std::rethrow_exception(mine);
    if (!outcome.empty()) throw std::runtime_error(outcome);
  }

  Team* team() const noexcept { return team_; }
  const ExchangeStats& stats() const noexcept { return stats_; }

  /// Rank 0 is in lockstep with the other ranks while it runs a command they
  /// run too; other ranks always are.
  class Lockstep {
   public:
    explicit Lockstep(MpiExecutor& executor) : executor_(executor) { ++executor_.lockstep_; }
    ~Lockstep() { --executor_.lockstep_; }
    Lockstep(const Lockstep&) = delete;
    Lockstep& operator=(const Lockstep&) = delete;

   private:
    MpiExecutor& executor_;
  };

 private:
  bool in_lockstep() const noexcept { return follower_ || lockstep_ > 0; }

  static void run_chunk(std::size_t n, std::size_t grain, std::size_t c, RangeBody body) {
    const Chunk chunk = chunk_bounds(n, grain, c);
    body(chunk.lo, chunk.hi);
  }

  static void release_tracked(void* context, void* data, std::size_t) noexcept {
    auto* self = static_cast<MpiExecutor*>(context);
    self->tracker_.remove(data);
    self->tracked_.erase(data);
  }

  // Every rank sends [u32 error length][error][changes]; nothing at all when
  // it has neither. See the header comment.
  void exchange(const std::string& error) {
    std::vector<std::byte>& outgoing = team_->send_buffer();
    std::vector<std::byte>& incoming = team_->receive_buffer();
    outgoing.clear();
    const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(error.size(), 1000));
    outgoing.resize(sizeof(length) + length);
    std::memcpy(outgoing.data(), &length, sizeof(length));
    std::memcpy(outgoing.data() + sizeof(length), error.data(), length);
    tracker_.append_changes(outgoing);
    std::uint64_t mine = (length == 0 && outgoing.size() == sizeof(length)) ? 0 : outgoing.size();
    if (mine > INT_MAX)
      throw std::runtime_error("mpi: a rank changed more than 2 GiB in one region");
    std::vector<std::uint64_t> sizes(ranks_);
    team_->allgather(&mine, sizeof(mine), sizes.data(), "while exchanging memory");
    std::vector<int> counts(ranks_), offsets(ranks_);
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < ranks_; ++r) {
      counts[r] = static_cast<int>(sizes[r]);
      offsets[r] = static_cast<int>(total);
      total += sizes[r];
    }
    if (total == 0) return;
    if (total > INT_MAX)
      throw std::runtime_error("mpi: the ranks changed more than 2 GiB in one region");
    incoming.resize(total);
    team_->allgatherv(outgoing.data(), static_cast<int>(mine), incoming.data(), counts.data(),
                      offsets.data(), "while exchanging memory");
    stats_.bytes += static_cast<double>(total);
    std::string first_error;
    for (std::size_t r = 0; r < ranks_; ++r) {
      if (sizes[r] == 0) continue;
      const std::byte* from = incoming.data() + offsets[r];
      std::uint32_t error_length = 0;
      std::memcpy(&error_length, from, sizeof(error_length));
      if (error_length > 0 && first_error.empty())
        first_error =
            std::string(reinterpret_cast<const char*>(from) + sizeof(error_length), error_length);
      if (r != static_cast<std::size_t>(team_->rank()))
        tracker_.apply(from + sizeof(error_length) + error_length,
                       sizes[r] - sizeof(error_length) - error_length);
    }
    if (!first_error.empty()) throw std::runtime_error(first_error);
  }

  std::size_t ranks_;
  Team* team_ = nullptr;
  bool follower_ = false;
  Schedule schedule_ = Schedule::cyclic;
  int lockstep_ = 0;
  bool in_region_ = false;
  // PARBENCH_MPI_SCHEDULE, read when an executor is made: rank 0 shares its
  // settings with the ranks at each attach (Team::share_settings), before the
  // ranks make theirs, so every rank reads the same value.
  static Schedule read_schedule(const Team* team) {
    const char* asked = std::getenv("PARBENCH_MPI_SCHEDULE");
    const std::string_view name = asked == nullptr ? "" : asked;
    if (name == "block") return Schedule::block;
    if (name == "cyclic" || (team != nullptr && !team->can_claim())) return Schedule::cyclic;
    if (name.empty() || name == "dynamic") return Schedule::dynamic;
    throw std::invalid_argument("PARBENCH_MPI_SCHEDULE=" + std::string(name) +
                                ": expected dynamic, cyclic or block");
  }
  mpi::ChangeTracker tracker_;
  std::map<void*, Memory> tracked_;
  ExchangeStats stats_;
};

// Rank 0's handle on an instance prepared on every rank: each call is
// broadcast, then made here.
class LockstepInstance final : public Instance {
 public:
  LockstepInstance(MpiExecutor& executor, std::unique_ptr<Instance> local)
      : executor_(executor), local_(std::move(local)), start_(executor.stats()) {}

  ~LockstepInstance() override {
    Team& team = *executor_.team();
    if (team.broken()) return;
    try {
      team.send(Command{.op = Command::destroy});
      {
        const MpiExecutor::Lockstep lockstep(executor_);
        local_.reset();
      }
      team.gather_outcome(true, "", "destroying an instance");
    } catch (const std::exception&) {  // a lost rank: the team is broken
    }
  }

  void run(Executor&) override {
    executor_.team()->send(Command{.op = Command::run});
    const MpiExecutor::Lockstep lockstep(executor_);
    local_->run(executor_);
    ++runs_;
  }

  Verdict verify() const override {
    Team& team = *executor_.team();
    team.send(Command{.op = Command::verify});
    Verdict verdict;
    try {  // the other ranks wait for our outcome whatever happens here
      verdict = local_->verify();
    } catch (...) {
      verdict = Verdict::fail(describe(std::current_exception()));
    }
    const std::string outcome = team.gather_outcome(verdict.ok, verdict.message, "verifying");
    if (!verdict.ok || outcome.empty()) return verdict;
    return Verdict::fail(outcome);
  }

  void corrupt() override {
    Team& team = *executor_.team();
    team.send(Command{.op = Command::corrupt});
    std::string error;
    try {
      local_->corrupt();
    } catch (...) {
      error = describe(std::current_exception());
    }
    const std::string outcome = team.gather_outcome(error.empty(), error, "corrupting");
    if (!outcome.empty()) throw std::runtime_error(outcome);
  }

  WorkPerRun work() const override { return local_->work(); }

  std::vector<std::pair<std::string, double>> counters() const override {
    auto counters = local_->counters();
    const ExchangeStats& now = executor_.stats();
    const double runs = std::max<double>(1, static_cast<double>(runs_));
    counters.emplace_back("mpi_bytes_exchanged", (now.bytes - start_.bytes) / runs);
    counters.emplace_back("mpi_exchange_seconds", (now.seconds - start_.seconds) / runs);
    counters.emplace_back("mpi_regions", (now.regions - start_.regions) / runs);
    // 1: the ranks are one mpirun job (shared memory between ranks on a
    // host); 0: spawned from this process (TCP to rank 0, see mpi/team.hpp).
    counters.emplace_back("mpi_launched", std::string_view(Team::transport()) == "launched");
    return counters;
  }

 private:
  MpiExecutor& executor_;
  std::unique_ptr<Instance> local_;
  ExchangeStats start_;
  std::size_t runs_ = 0;
};

std::unique_ptr<Instance> MpiExecutor::prepare(const WorkloadInfo& workload, std::size_t n) {
  if (team_ == nullptr) return workload.prepare(*this, n);
  Command command{.op = Command::prepare};
  command.args[0] = n;
  std::strncpy(command.text, workload.name.c_str(), sizeof(command.text) - 1);
  team_->send(command);
  std::unique_ptr<Instance> local;
  std::string error;
  {
    const Lockstep lockstep(*this);
    try {
      local = workload.prepare(*this, n);
    } catch (...) {
      error = describe(std::current_exception());
    }
  }
  const std::string outcome = team_->gather_outcome(error.empty(), error, "preparing");
  if (outcome.empty()) return std::make_unique<LockstepInstance>(*this, std::move(local));
  // Some rank failed: the others drop what they prepared.
  team_->send(Command{.op = Command::destroy});
  {
    const Lockstep lockstep(*this);
    local.reset();
  }
  team_->gather_outcome(true, "", "destroying an instance");
  if (!error.empty()) throw std::runtime_error(error);
  throw std::runtime_error(outcome);
}

// The other ranks: follow rank 0's commands until it dismisses the team.
int run_rank(int argc, char** argv) {
  const bool spawned = argc >= 2 && std::string_view(argv[1]) == "--parbench-worker=mpi";
  if (!spawned && Team::launched_rank() <= 0) return -1;  // rank 0, or no MPI at all
  try {
    {
      Team team = spawned ? Team::join_parent(argc, argv) : Team::join_world();
      try {
        std::unique_ptr<MpiExecutor> executor;
        std::unique_ptr<Instance> instance;
        auto attempt = [&](const char* during, auto&& action) {
          std::string error;
          try {
            if (executor == nullptr) throw std::logic_error("no executor attached");
            action();
          } catch (...) {
            error = describe(std::current_exception());
          }
          team.gather_outcome(error.empty(), error, during);
        };
        for (bool serving = true; serving;) {
          const Command command = team.receive();
          switch (command.op) {
            case Command::exit:
              serving = false;
              break;
            case Command::attach:
              team.share_settings();
              instance.reset();
              executor = std::make_unique<MpiExecutor>(team);
              break;
            case Command::detach:
              instance.reset();
              executor.reset();
              break;
            case Command::prepare:
              attempt("preparing", [&] {
                instance.reset();
                const WorkloadInfo* workload = find_workload(command.text);
                if (workload == nullptr)
                  throw std::runtime_error(std::string("no workload ") + command.text);
                instance = workload->prepare(*executor, command.args[0]);
              });
              break;
            case Command::run:
              try {  // a failure in a region reaches rank 0 through the exchange
                if (instance) instance->run(*executor);
              } catch (const std::exception&) {
              }
              break;
            case Command::verify: {
              Verdict verdict = Verdict::fail("no instance");
              try {
                if (instance) verdict = instance->verify();
              } catch (...) {
                verdict = Verdict::fail(describe(std::current_exception()));
              }
              team.gather_outcome(verdict.ok, verdict.message, "verifying");
              break;
            }
            case Command::corrupt:
              attempt("corrupting", [&] {
                if (instance) instance->corrupt();
              });
              break;
            case Command::destroy:
              instance.reset();
              team.gather_outcome(true, "", "destroying an instance");
              break;
            case Command::executor_program:
              attempt("running a program", [&] {
                reinterpret_cast<Executor::Program>(mpi::from_offset(command.args[0]))(*executor);
              });
              break;
            case Command::team_program: {
              std::string error;
              try {
                reinterpret_cast<mpi::TeamProgram>(mpi::from_offset(command.args[0]))(team,
                                                                                      command);
              } catch (...) {
                error = describe(std::current_exception());
              }
              team.gather_outcome(error.empty(), error, "running a program");
              break;
            }
            default:
              throw std::runtime_error("unknown command " + std::to_string(command.op));
          }
        }
        instance.reset();
        executor.reset();
      } catch (const std::exception& error) {
        // Out of step with rank 0 (a bug): say why and end the whole job,
        // rather than wait for messages that will never come.
        std::fprintf(stderr, "parbench mpi rank %d: %s\n", team.rank(), error.what());
        MPI_Abort(team.comm(), 1);
      }
    }
    MPI_Finalize();
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parbench mpi rank: %s\n", error.what());
    return 1;
  }
}

const bool registered = register_model({
    .name = "mpi",
    .label = "MPI",
    .group = "distributed",
    .launch = "launcher",
    .summary = "p Open MPI ranks (processes, on this host or others) running the same code; "
               "each runs its share of the chunks, then they exchange the bytes they changed",
    .order = 70,
    .parallel = true,
    .no_task_spawn = "ranks start once per team and run the same code (SPMD); spawn_tasks hands "
                     "each rank its share of the task indices, it starts nothing per task",
    .limit_fork_join = "fork_join runs its halves one after the other on every rank: the ranks "
                       "share no memory to split a recursion over (SPMD)",
    .limit_files = "each rank writes into its own temporary directory (ranks may run on other "
                   "hosts), so a verifier cannot read back what the others wrote",
    .create = [](std::size_t workers, const Placement&) -> std::unique_ptr<Executor> {
      // The ranks are bound by the launcher (--bind-to, --map-by), as MPI's users bind them.
      return std::make_unique<MpiExecutor>(workers);
    },
    .note = "p = ranks; fork_join runs serially on every rank; after each parallel_for the ranks "
            "exchange the bytes they changed (counters mpi_bytes_exchanged, mpi_exchange_seconds); "
            "workloads that read back their files (file_write, pipeline) are not run: each rank "
            "has its own "
            "temporary directory",
    .max_concurrency = 8,
    .worker_main = &run_rank,
});

}  // namespace
}  // namespace parbench
