#include "mpi/team.hpp"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "mpi/loopback.hpp"

namespace parbench::mpi {
namespace {

std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

void check(int code, const std::string& what) {
  if (code != MPI_SUCCESS) throw std::runtime_error("mpi: " + what + ": " + error_text(code));
}

std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// The process's MPI: initialised on first use, finalised at exit after every
// team has been dismissed. Not finalised if a team broke: MPI_Finalize would
// wait for ranks that are gone (Open MPI's orted cleans up when we exit).
class Runtime {
 public:
  static Runtime& get() {
    static Runtime runtime;
    return runtime;
  }
  Team& team(int size) {
    // A lost rank makes Open MPI's runtime end every rank it started here.
    for (const auto& [ranks, team] : teams_)
      if (team->broken())
        throw std::runtime_error("mpi: the team of " + std::to_string(ranks) +
                                 " ranks lost a rank earlier in this process (Open MPI then ends "
                                 "every rank it started); start a new process");
    auto found = teams_.find(size);
    if (found == teams_.end()) {
      if (Team::launched_rank() >= 0) {
        int world = 0;
        MPI_Comm_size(MPI_COMM_WORLD, &world);
        if (world != size)
          throw std::runtime_error("mpi: this process was launched as one of " +
                                   std::to_string(world) + " ranks (mpirun -np " +
                                   std::to_string(world) +
                                   "); it cannot run p = " + std::to_string(size));
        found = teams_.emplace(size, std::make_unique<Team>(Team::join_world())).first;
      } else {
        found = teams_.emplace(size, spawn(size)).first;
      }
    }
    return *found->second;
  }
  ~Runtime() {
    bool broken = false;
    for (auto& [size, team] : teams_) broken = broken || team->broken();
    teams_.clear();
    if (!broken) MPI_Finalize();
  }

 private:
  Runtime() { initialise(); }
  static std::unique_ptr<Team> spawn(int size);
  std::map<int, std::unique_ptr<Team>> teams_;
};

}  // namespace

namespace {

// An environment variable set for a while, given back its old value (or
// unset) when this goes.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;
  ~ScopedEnvironment() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Set by Open MPI's launcher (mpirun, orted) in every process it starts.
bool started_by_open_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
}

// The preload library next to this executable, or "" if it is not there.
std::string preload_library() {
  char exe[4096] = {};
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length <= 0) return {};
  std::string path(exe, static_cast<std::size_t>(length));
  path.resize(path.rfind('/') + 1);
  path += loopback::kPreloadLibrary;
  return access(path.c_str(), R_OK) == 0 ? path : std::string();
}

// A singleton's ranks (spawned, no hostfile) all run on this host: Open MPI's
// listeners, in this process, its orted and the ranks, go on loopback
// (mpi/loopback.hpp), each setting only if the user has not made it. Returns
// what puts the preload library in LD_PRELOAD while MPI_Init forks orted.
std::optional<ScopedEnvironment> confine_singleton_to_loopback() {
  if (started_by_open_mpi()) return std::nullopt;  // the launcher's environment says
  if (const char* hostfile = std::getenv("PARBENCH_MPI_HOSTFILE"); hostfile && *hostfile)
    return std::nullopt;
  // Open MPI refuses an interface list that is both included and excluded.
  for (const char* transport : {"oob", "btl"}) {
    const std::string prefix = std::string("OMPI_MCA_") + transport + "_tcp_if_";
    if (std::getenv((prefix + "exclude").c_str()) == nullptr)
      setenv((prefix + "include").c_str(), "lo", 0);
  }
  setenv(loopback::kEnableVariable, "1", 0);
  const std::string library = preload_library();
  if (library.empty()) return std::nullopt;
  const char* preload = std::getenv("LD_PRELOAD");
  return std::optional<ScopedEnvironment>(std::in_place, "LD_PRELOAD",
                                          preload && *preload ? library + ":" + preload : library);
}

}  // namespace

// The settings Open MPI needs here, each only if the user has not set it:
// running as root is refused unless confirmed twice; more ranks than cores
// (p = 2 x cores in a sweep) is refused unless oversubscription is allowed;
// a singleton's listeners on loopback.
void initialise() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return;
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
  {
    // LD_PRELOAD given back once orted is forked: what this process starts
    // later (the spawn and exec benchmarks' children) must not carry it.
    const auto preload = confine_singleton_to_loopback();
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
}

namespace {
struct Hello {
  long pid = 0;
  char host[120] = {};
};
}  // namespace

std::unique_ptr<Team> Runtime::spawn(int size) {
  char exe[4096] = {};
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length <= 0) throw std::runtime_error("mpi: cannot find this program (/proc/self/exe)");
  // The ranks get rank 0's PARBENCH_* settings (the workloads' knobs, the
  // spin calibration) as arguments: on another host, or from Open MPI's
  // daemon, they would not inherit them, and SPMD code must see the same.
  std::vector<std::string> arguments{"--parbench-worker=mpi"};
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::string_view(*entry).starts_with("PARBENCH_")) arguments.emplace_back(*entry);
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  MPI_Info info;
  MPI_Info_create(&info);
  if (const char* hostfile = std::getenv("PARBENCH_MPI_HOSTFILE"); hostfile && *hostfile) {
    if (access(hostfile, R_OK) != 0) {
      MPI_Info_free(&info);
      throw std::runtime_error(std::string("mpi: hostfile ") + hostfile + ": " +
                               std::strerror(errno));
    }
    MPI_Info_set(info, "hostfile", hostfile);
  }
  MPI_Comm inter = MPI_COMM_NULL;
  std::vector<int> codes(static_cast<std::size_t>(size - 1));
  const int code =
      MPI_Comm_spawn(exe, argv.data(), size - 1, info, 0, MPI_COMM_SELF, &inter, codes.data());
  MPI_Info_free(&info);
  check(code, "could not start " + std::to_string(size - 1) + " ranks (MPI_Comm_spawn)");
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Intercomm_merge(inter, 0, &comm), "MPI_Intercomm_merge");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  auto team = std::unique_ptr<Team>(new Team(Team::connect(comm, inter)));
  return team;
}

Team Team::connect(MPI_Comm comm, MPI_Comm inter) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  Team team(comm, rank, size);
  team.intercomm_ = inter;
  Hello hello;
  hello.pid = getpid();
  std::strncpy(hello.host, this_host().c_str(), sizeof(hello.host) - 1);
  std::vector<Hello> all(rank == 0 ? static_cast<std::size_t>(size) : 0);
  check(MPI_Gather(&hello, sizeof(Hello), MPI_BYTE, all.data(), sizeof(Hello), MPI_BYTE, 0, comm),
        "exchanging rank addresses");
  for (const Hello& each : all) {
    team.pids_.push_back(each.pid);
    team.hosts_.emplace_back(each.host);
  }
  team.share_claim_counter();
  return team;
}

void Team::share_claim_counter() {
  // Every rank must reach the same decision (the schedule depends on it):
  // all on one host, and the window made everywhere.
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node_),
        "MPI_Comm_split_type");
  int node_size = 0;
  MPI_Comm_size(node_, &node_size);
  int everyone = node_size == size_ ? 1 : 0, agreed = 0;
  check(MPI_Allreduce(&everyone, &agreed, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  if (agreed == 0) return;
  void* base = nullptr;
  int made = MPI_Win_allocate_shared(rank_ == 0 ? sizeof(std::uint64_t) : 0, sizeof(std::uint64_t),
                                     MPI_INFO_NULL, node_, &base, &claim_window_) == MPI_SUCCESS;
  if (made) {
    MPI_Aint bytes = 0;
    int unit = 0;
    made = MPI_Win_shared_query(claim_window_, 0, &bytes, &unit, &base) == MPI_SUCCESS &&
           bytes >= static_cast<MPI_Aint>(sizeof(std::uint64_t));
  }
  check(MPI_Allreduce(MPI_IN_PLACE, &made, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  if (made == 0) {
    if (claim_window_ != MPI_WIN_NULL) MPI_Win_free(&claim_window_);
    return;
  }
  claim_counter_ = static_cast<std::uint64_t*>(base);
  if (rank_ == 0) std::atomic_ref<std::uint64_t>(*claim_counter_).store(0);
  check(MPI_Barrier(comm_), "MPI_Barrier");  // nobody claims before it is zero
}

std::uint64_t Team::claim_chunk() noexcept {
  return std::atomic_ref<std::uint64_t>(*claim_counter_).fetch_add(1, std::memory_order_relaxed) -
         claims_base_;
}

Team& Team::of_size(int size) {
  if (size < 2) throw std::invalid_argument("mpi: a team has at least 2 ranks");
  return Runtime::get().team(size);
}

namespace {
int environment_int(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return -1;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return *end == '\0' && value >= 0 && value < INT32_MAX ? static_cast<int>(value) : -1;
}
}  // namespace

int Team::launched_rank() {
  return environment_int("OMPI_COMM_WORLD_SIZE") > 1 ? environment_int("OMPI_COMM_WORLD_RANK") : -1;
}

const char* Team::transport() {
  return launched_rank() >= 0 ? "launched" : "spawned";
}

Team Team::join_world() {
  initialise();
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  return connect(comm, MPI_COMM_NULL);
}

Team Team::join_parent(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("PARBENCH_")) putenv(argv[i]);
  initialise();
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent == MPI_COMM_NULL) throw std::runtime_error("mpi: not started by a parbench rank 0");
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Intercomm_merge(parent, 1, &comm), "MPI_Intercomm_merge");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  return connect(comm, parent);
}

Team::Team(Team&& other) noexcept
    : comm_(other.comm_),
      intercomm_(other.intercomm_),
      rank_(other.rank_),
      size_(other.size_),
      broken_(other.broken_),
      claimed_(other.claimed_),
      hosts_(std::move(other.hosts_)),
      pids_(std::move(other.pids_)),
      node_(other.node_),
      claim_window_(other.claim_window_),
      claim_counter_(other.claim_counter_),
      claims_base_(other.claims_base_),
      send_buffer_(std::move(other.send_buffer_)),
      receive_buffer_(std::move(other.receive_buffer_)) {
  other.comm_ = other.intercomm_ = other.node_ = MPI_COMM_NULL;
  other.claim_window_ = MPI_WIN_NULL;
  other.claim_counter_ = nullptr;
}

Team::~Team() {
  if (comm_ == MPI_COMM_NULL || broken_) return;
  try {
    if (rank_ == 0) send(Command{});  // Op exit
  } catch (const std::exception&) {
    return;  // a rank went away: nothing to disconnect from
  }
  if (claim_window_ != MPI_WIN_NULL) MPI_Win_free(&claim_window_);  // collective, like exit
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
  // The merged communicator is freed; the spawn's intercommunicator is what
  // connects the two jobs (disconnecting both waits forever in Open MPI 4.1).
  MPI_Comm_free(&comm_);
  if (intercomm_ != MPI_COMM_NULL) MPI_Comm_disconnect(&intercomm_);
}

void Team::send(const Command& command) {
  Command copy = command;
  MPI_Request request;
  check(MPI_Ibcast(&copy, sizeof(Command), MPI_BYTE, 0, comm_, &request), "sending a command");
  wait(request, "sending a command");
}

void Team::share_settings() {
  std::string blob;
  if (rank_ == 0)
    for (char** entry = environ; *entry != nullptr; ++entry)
      if (std::string_view(*entry).starts_with("PARBENCH_")) blob.append(*entry).push_back('\0');
  std::uint64_t size = blob.size();
  MPI_Request request;
  check(MPI_Ibcast(&size, 1, MPI_UINT64_T, 0, comm_, &request), "sharing settings");
  wait(request, "sharing settings");
  blob.resize(size);
  check(MPI_Ibcast(blob.data(), static_cast<int>(size), MPI_BYTE, 0, comm_, &request),
        "sharing settings");
  wait(request, "sharing settings");
  if (rank_ == 0) return;
  std::vector<std::string> ours;
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::string_view(*entry).starts_with("PARBENCH_")) ours.emplace_back(*entry);
  for (const std::string& entry : ours) unsetenv(entry.substr(0, entry.find('=')).c_str());
  for (std::size_t at = 0; at < blob.size();) {
    const std::string entry(blob.c_str() + at);
    at += entry.size() + 1;
    const std::size_t equals = entry.find('=');
    if (equals != std::string::npos)
      setenv(entry.substr(0, equals).c_str(), entry.substr(equals + 1).c_str(), 1);
  }
}

Command Team::receive() {
  Command command;
  MPI_Request request;
  check(MPI_Ibcast(&command, sizeof(Command), MPI_BYTE, 0, comm_, &request),
        "waiting for a command");
  const pid_t parent = getppid();
  const auto start = std::chrono::steady_clock::now();
  auto nap = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "waiting for a command");
    if (done) return command;
    if (std::chrono::steady_clock::now() - start < std::chrono::microseconds(50)) continue;
    // Rank 0 gone: Open MPI's daemon (our parent) exits and we are re-parented.
    if (getppid() != parent) std::_Exit(3);
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(1000));
  }
}

void Team::check_alive(const char* during) {
  const std::string host = hosts_.empty() ? std::string() : hosts_[0];
  for (std::size_t r = 1; r < pids_.size(); ++r) {
    if (hosts_[r] != host) continue;  // another host: Open MPI's runtime ends the job
    if (kill(static_cast<pid_t>(pids_[r]), 0) == -1 && errno == ESRCH) {
      broken_ = true;
      throw std::runtime_error("mpi: rank " + std::to_string(r) + " (pid " +
                               std::to_string(pids_[r]) + ") ended " + during +
                               " (killed or crashed); its team is abandoned");
    }
  }
}

void Team::wait(MPI_Request& request, const char* during) {
  if (broken_) throw std::runtime_error("mpi: this team lost a rank earlier");
  auto last_check = std::chrono::steady_clock::now();
  const pid_t parent = getppid();
  for (std::uint64_t polls = 0;; ++polls) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), during);
    if (done) return;
    if ((polls & 1023) != 1023) continue;
    if (rank_ == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_check > std::chrono::milliseconds(50)) {
        last_check = now;
        check_alive(during);
      }
    } else {
      // Ranks may share a core with the rank they wait for: let it run.
      sched_yield();
      if (getppid() != parent) std::_Exit(3);
    }
  }
}

void Team::allgather(const void* mine, int bytes, void* all, const char* during) {
  if (intercomm_ == MPI_COMM_NULL) {
    check(MPI_Allgather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, comm_), during);
    return;
  }
  MPI_Request request;
  check(MPI_Iallgather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, comm_, &request), during);
  wait(request, during);
}

void Team::allgatherv(const void* mine, int bytes, void* all, const int* counts, const int* offsets,
                      const char* during) {
  if (intercomm_ == MPI_COMM_NULL) {
    check(MPI_Allgatherv(mine, bytes, MPI_BYTE, all, counts, offsets, MPI_BYTE, comm_), during);
    return;
  }
  MPI_Request request;
  check(MPI_Iallgatherv(mine, bytes, MPI_BYTE, all, counts, offsets, MPI_BYTE, comm_, &request),
        during);
  wait(request, during);
}

namespace {
struct Outcome {
  std::uint32_t ok = 1;
  char message[252] = {};
};
}  // namespace

std::string Team::gather_outcome(bool ok, const std::string& message, const char* during) {
  Outcome mine;
  mine.ok = ok ? 1 : 0;
  std::strncpy(mine.message, message.c_str(), sizeof(mine.message) - 1);
  std::vector<Outcome> all(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Request request;
  check(MPI_Igather(&mine, sizeof(Outcome), MPI_BYTE, all.data(), sizeof(Outcome), MPI_BYTE, 0,
                    comm_, &request),
        during);
  wait(request, during);
  for (std::size_t r = 0; r < all.size(); ++r)
    if (!all[r].ok) return "rank " + std::to_string(r) + ": " + all[r].message;
  return {};
}

void Team::start(TeamProgram program, Command command) {
  command.op = Command::team_program;
  command.args[0] = to_offset(reinterpret_cast<const void*>(program));
  send(command);
}

void Team::finish(const std::string& error) {
  const std::string outcome = gather_outcome(error.empty(), error, "running a program");
  if (!outcome.empty()) throw std::runtime_error(outcome);
}

void Team::run(TeamProgram program, Command command) {
  command.op = Command::team_program;
  command.args[0] = to_offset(reinterpret_cast<const void*>(program));
  start(program, command);
  std::string error;
  try {
    program(*this, command);
  } catch (const std::exception& failure) {
    error = *failure.what() != '\0' ? failure.what() : "exception";
  }
  finish(error);
}

// Offsets are taken from this function, which is in the same executable as
// every program (parbench links its code statically into each binary).
std::uint64_t to_offset(const void* function) {
  return reinterpret_cast<std::uintptr_t>(function) -
         reinterpret_cast<std::uintptr_t>(reinterpret_cast<const void*>(&to_offset));
}

const void* from_offset(std::uint64_t offset) {
  return reinterpret_cast<const void*>(
      reinterpret_cast<std::uintptr_t>(reinterpret_cast<const void*>(&to_offset)) + offset);
}

std::string library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string text(version, static_cast<std::size_t>(length));
  if (const auto end = text.find_first_of(",\n"); end != std::string::npos) text.resize(end);
  return text;
}

}  // namespace parbench::mpi
