// parbench_bench: the benchmark binary behind ./parbench.
//
//   parbench_bench list      [selection options]   what can run
//   parbench_bench selfcheck [selection options]   run and verify at small sizes
//   parbench_bench info                            build and calibration facts (JSON)
//   parbench_bench [selection options] [--benchmark_* flags]   benchmark
//
// Selection options:
//   --workloads=a,b   workloads to include: names, all or none (default: all)
//   --models=a,b      models to include: names or all (default: all)
//   --primitives=a,b  primitive families by prefix (overhead, sync, sync/mutex, ...),
//                     all or none. Default: all when nothing is selected; none
//                     when --workloads or --models is given (they select
//                     workload families), so a named workload runs alone
//   --skip-models=a,b models to leave out (e.g. uninstrumented runtimes under tsan)
//   --p=1,2,4         worker counts for parallel models (default: 1, 2, 4, ...
//                     up to the hardware threads, that count, and twice it)
//   --concurrency=1,16,256  p values of the I/O workloads, whose p is concurrency
//                     (default: each workload's own levels; capped per model)
//   --size=default|quick|small|N[,N...]   sizes (default: each workload's own)
//   --scaling=strong|weak   weak: n grows with p so work per worker is fixed
// Anything else must be a Google Benchmark flag (--benchmark_*, --v).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <omp.h>
#include <oneapi/tbb/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/harness.hpp"
#include "core/spin.hpp"
#include "coro/io_loop.hpp"

namespace parbench {
namespace {

/// Bad input: one line for the user, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::size_t parse_positive(const std::string& text, const char* what) {
  std::size_t value = 0;
  bool ok = !text.empty() && text.size() < 20;
  for (char ch : text) ok = ok && ch >= '0' && ch <= '9';
  if (ok) value = std::stoull(text);
  if (!ok || value == 0)
    throw UsageError(std::string(what) + " must be a positive integer, got '" + text + "'");
  return value;
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

template <class Info>
std::string names_of(const std::vector<Info>& infos) {
  std::string names;
  for (const auto& info : infos) names += (names.empty() ? "" : ", ") + info.name;
  return names;
}

struct Command {
  std::string verb = "run";  // run | list | selfcheck
  Selection selection;
  std::vector<char*> benchmark_args;  // argv for Google Benchmark
};

Command parse(int argc, char** argv) {
  Command command;
  command.benchmark_args.push_back(argv[0]);
  bool workloads_given = false, models_given = false, workers_given = false,
       primitives_given = false;
  std::vector<std::string> skipped_models;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value_of = [&](std::string_view option) -> std::string {
      if (arg.size() > option.size() && arg.substr(0, option.size()) == option &&
          arg[option.size()] == '=')
        return std::string(arg.substr(option.size() + 1));
      throw UsageError("option " + std::string(option) + " needs a value: " + std::string(option) +
                       "=...");
    };
    if (i == 1 && (arg == "list" || arg == "selfcheck" || arg == "info")) {
      command.verb = arg;
    } else if (arg.starts_with("--workloads")) {
      workloads_given = true;
      for (const auto& name : split(value_of("--workloads"))) {
        if (name == "none") continue;
        if (name == "all") {
          for (const auto& workload : workloads()) command.selection.workloads.push_back(&workload);
          continue;
        }
        const WorkloadInfo* workload = find_workload(name);
        if (workload == nullptr)
          throw UsageError("unknown workload '" + name + "' (valid: " + names_of(workloads()) +
                           ")");
        command.selection.workloads.push_back(workload);
      }
    } else if (arg.starts_with("--models")) {
      models_given = true;
      for (const auto& name : split(value_of("--models"))) {
        if (name == "all") {
          for (const auto& model : models()) command.selection.models.push_back(&model);
          continue;
        }
        const ModelInfo* model = find_model(name);
        if (model == nullptr)
          throw UsageError("unknown model '" + name + "' (valid: " + names_of(models()) + ")");
        command.selection.models.push_back(model);
      }
    } else if (arg.starts_with("--primitives")) {
      primitives_given = true;
      const std::vector<std::string> families = primitive_family_names();
      for (const auto& name : split(value_of("--primitives"))) {
        if (name == "none") continue;
        if (name == "all") {
          command.selection.primitives.insert(command.selection.primitives.end(), families.begin(),
                                              families.end());
          continue;
        }
        const std::string top = name.substr(0, name.find('/'));
        if (std::find(families.begin(), families.end(), top) == families.end())
          throw UsageError("unknown primitive family '" + name +
                           "' (valid: all, none, or a prefix of " + join(families) + ")");
        command.selection.primitives.push_back(name);
      }
    } else if (arg.starts_with("--skip-models")) {
      for (const auto& name : split(value_of("--skip-models"))) {
        if (find_model(name) == nullptr)
          throw UsageError("unknown model '" + name + "' (valid: " + names_of(models()) + ")");
        skipped_models.push_back(name);
      }
    } else if (arg.starts_with("--p=") || arg == "--p") {
      workers_given = true;
      for (const auto& text : split(value_of("--p")))
        command.selection.workers.push_back(parse_positive(text, "worker count p"));
    } else if (arg.starts_with("--concurrency")) {
      for (const auto& text : split(value_of("--concurrency")))
        command.selection.concurrency.push_back(parse_positive(text, "concurrency p"));
    } else if (arg.starts_with("--size")) {
      const std::string value = value_of("--size");
      using SizeSet = Selection::SizeSet;
      if (value == "default")
        command.selection.size_set = SizeSet::standard;
      else if (value == "quick")
        command.selection.size_set = SizeSet::quick;
      else if (value == "small")
        command.selection.size_set = SizeSet::small;
      else {
        command.selection.size_set = SizeSet::given;
        for (const auto& text : split(value))
          command.selection.sizes.push_back(parse_positive(text, "size n"));
      }
    } else if (arg.starts_with("--scaling")) {
      const std::string value = value_of("--scaling");
      if (value == "strong")
        command.selection.scaling = Selection::Scaling::strong;
      else if (value == "weak")
        command.selection.scaling = Selection::Scaling::weak;
      else
        throw UsageError("--scaling must be strong or weak, got '" + value + "'");
    } else if (arg.starts_with("--benchmark_") || arg.starts_with("--v=") || arg == "--help") {
      command.benchmark_args.push_back(argv[i]);
    } else {
      throw UsageError(
          "unknown option '" + std::string(arg) +
          "' (parbench options: --workloads= --models= --primitives= --skip-models= --p= "
          "--concurrency= --size= "
          "--scaling=; "
          "Google Benchmark flags start with --benchmark_)");
    }
  }
  Selection& selection = command.selection;
  // Naming workloads or models selects workload families; naming primitives
  // selects those; naming nothing selects everything.
  if (!workloads_given && !primitives_given)
    for (const auto& workload : workloads()) selection.workloads.push_back(&workload);
  if (!primitives_given && !workloads_given && !models_given)
    selection.primitives = primitive_family_names();
  if (!models_given)
    for (const auto& model : models()) selection.models.push_back(&model);
  std::erase_if(selection.models, [&](const ModelInfo* model) {
    return std::find(skipped_models.begin(), skipped_models.end(), model->name) !=
           skipped_models.end();
  });
  if (!workers_given) selection.workers = default_worker_counts();
  selection.workers_given = workers_given;
  if (selection.size_set == Selection::SizeSet::given) {
    for (const WorkloadInfo* workload : selection.workloads)
      for (std::size_t n : selection.sizes)
        if (n < workload->min_size || n > workload->max_size)
          throw UsageError("size " + std::to_string(n) + " is out of range for workload '" +
                           workload->name + "' (accepted: " + std::to_string(workload->min_size) +
                           ".." + std::to_string(workload->max_size) + ")");
  }
  // Guard against p so large that thread creation would exhaust the machine.
  for (std::size_t p : selection.workers)
    if (p > 1024) throw UsageError("worker count p = " + std::to_string(p) + " is above 1024");
  return command;
}

std::string join_sizes(const std::vector<std::size_t>& sizes) {
  std::string text;
  for (std::size_t n : sizes) {
    if (!text.empty()) text += ',';
    text += std::to_string(n);
  }
  return text;
}

int list(const Selection& selection) {
  std::printf(
      "Workloads (name, category, default sizes, quick sizes, selfcheck size, what n is):\n");
  for (const WorkloadInfo* w : selection.workloads)
    std::printf("  %-16s %-7s default=%-22s quick=%-20s small=%-8zu n: %s\n      %s\n",
                w->name.c_str(), std::string(to_string(w->category)).c_str(),
                join_sizes(w->default_sizes).c_str(), join_sizes(w->quick_sizes).c_str(),
                w->small_size, w->size_meaning.c_str(), w->summary.c_str());
  std::printf("\nModels:\n");
  for (const ModelInfo* m : selection.models) {
    std::printf("  %-16s %s\n", m->name.c_str(), m->summary.c_str());
    if (!m->note.empty()) std::printf("  %-16s note: %s\n", "", m->note.c_str());
    if (m->parallel)
      std::printf("  %-16s tasks: %s\n", "",
                  m->task_spawn.empty() ? ("no spawn per task (" + m->no_task_spawn + ")").c_str()
                                        : m->task_spawn.c_str());
    if (!m->limit_files.empty()) {
      std::string names;
      for (const WorkloadInfo& w : workloads())
        if (w.reads_back_files) names += (names.empty() ? "" : ", ") + w.name;
      if (!names.empty())
        std::printf("  %-16s not run: %s (%s)\n", "", names.c_str(), m->limit_files.c_str());
    }
  }
  std::printf("\nWorker counts p: %s (hardware threads: %zu; serial runs at p = 1 only)\n",
              join_sizes(selection.workers).c_str(), hardware_threads());
  std::string caps;
  for (const ModelInfo* model : selection.models)
    if (model->parallel)
      caps += (caps.empty() ? "" : ", ") + model->name + " " +
              (model->max_concurrency == 0 ? std::string("none")
                                           : std::to_string(model->max_concurrency));
  std::printf(
      "I/O workloads (category io): p is concurrency (requests in flight), at each workload's "
      "own levels (--concurrency= to choose); size is requests per slot, n = size x p.\n"
      "  Largest p per model: %s\n",
      caps.c_str());
  std::printf(
      "\nPrimitive families (--primitives=all, none or prefixes such as sync/mutex): %s%s\n",
      join(primitive_family_names()).c_str(),
      selection.primitives.empty() ? " (none selected)" : "");
  std::printf(
      "\nBenchmark names: <workload>/<model>/n:<N>/p:<P>, overhead/tasks/<model>/p:<P>,"
      " overhead/parallel_for/<model>/p:<P>, sync/..., queue/..., spawn/..., timer/..., ipc/...,"
      " psync/...\n");
  return 0;
}

std::vector<std::size_t> selfcheck_worker_counts() {
  std::vector<std::size_t> counts{1, 2, 3, hardware_threads() + 1};
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

int selfcheck(const Selection& selection, bool workers_given) {
  int failures = 0, checks = 0;
  std::printf("%-16s %-13s %5s %10s  %-6s %9s  %s\n", "workload", "model", "p", "n", "result", "ms",
              "detail");
  for (const WorkloadInfo* workload : selection.workloads) {
    const std::vector<std::size_t> sizes = selection.size_set == Selection::SizeSet::standard
                                               ? std::vector{workload->small_size}
                                               : selection.sizes_for(*workload);
    for (const ModelInfo* model : selection.models) {
      if (const std::string reason = cannot_run(*workload, *model); !reason.empty()) {
        std::printf("%-16s %-13s %5s %10s  %-6s %9s  %s\n", workload->name.c_str(),
                    model->name.c_str(), "-", "-", "n/a", "-", reason.c_str());
        continue;
      }
      std::vector<std::size_t> counts =
          workers_given ? selection.workers : selfcheck_worker_counts();
      if (!model->parallel) counts = {1};
      // I/O workloads: also one point at a high concurrency (within the model's cap).
      if (!workload->concurrency_levels.empty() && !workers_given && model->parallel)
        counts.push_back(
            model->max_concurrency == 0 ? 64 : std::min<std::size_t>(64, model->max_concurrency));
      for (std::size_t p : counts)
        for (std::size_t size : sizes) {
          const std::size_t n = requests_at(*workload, size, p);
          ++checks;
          std::string detail;
          const auto start = std::chrono::steady_clock::now();
          bool ok = false;
          try {
            const auto executor = model->create(p);
            const auto instance = executor->prepare(*workload, n);
            instance->run(*executor);  // twice: a kernel must not depend on leftover state
            instance->run(*executor);
            const Verdict verdict = instance->verify();
            ok = verdict.ok;
            detail = verdict.message;
          } catch (const std::exception& error) {
            detail = std::string("exception: ") + error.what();
          }
          const std::chrono::duration<double, std::milli> ms =
              std::chrono::steady_clock::now() - start;
          failures += !ok;
          std::printf("%-16s %-13s %5zu %10zu  %-6s %9.1f  %s\n", workload->name.c_str(),
                      model->name.c_str(), p, n, ok ? "ok" : "FAIL", ms.count(), detail.c_str());
          std::fflush(stdout);
        }
    }
  }
  std::printf("\nselfcheck: %d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}

// `info`: facts about this build and machine as one JSON object, for the
// sweep's env.json. It also measures the spin calibration once, so that every
// family process of a sweep can be given the same value.
int info() {
  std::printf(
      "{\"spin_iters_per_us\": %.6f, \"hardware_threads\": %zu, \"compiler\": \"g++ %s\", "
      "\"build_type\": \"%s\", \"cxx_flags\": \"%s\", \"sanitizer\": \"%s\", "
      "\"tbb_version\": \"%s\", \"openmp_version\": %d, \"omp_wait_policy\": \"%s\", "
      "\"io_backend\": \"%s\", \"io_backend_reason\": \"%s\"}\n",
      spin_iterations_per_us(), hardware_threads(), __VERSION__, PARBENCH_BUILD_TYPE,
      PARBENCH_CXX_FLAGS, PARBENCH_SANITIZER, TBB_VERSION_STRING, _OPENMP,
      omp_wait_policy().c_str(), std::string(coro::to_string(coro::default_backend())).c_str(),
      coro::backend_reason().c_str());
  return 0;
}

// Set in the environment of a re-executed process whose OpenMP wait policy
// parbench chose (see choose_omp_wait_policy); recorded in the context.
constexpr const char* kPolicyReasonVariable = "PARBENCH_OMP_WAIT_POLICY_REASON";

void add_context() {
  benchmark::AddCustomContext("omp_wait_policy", omp_wait_policy());
  const char* reason = std::getenv(kPolicyReasonVariable);
  benchmark::AddCustomContext("omp_wait_policy_set_by", reason != nullptr ? reason
                                                        : std::getenv("OMP_WAIT_POLICY") != nullptr
                                                            ? "the environment"
                                                            : "libgomp's default");
  benchmark::AddCustomContext("parbench_build_type", PARBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("parbench_cxx_flags", PARBENCH_CXX_FLAGS);
  benchmark::AddCustomContext("parbench_sanitizer", PARBENCH_SANITIZER);
  benchmark::AddCustomContext("compiler", "g++ " __VERSION__);
  benchmark::AddCustomContext("tbb_version", TBB_VERSION_STRING);
  benchmark::AddCustomContext("openmp_version", std::to_string(_OPENMP));
  benchmark::AddCustomContext("hardware_threads", std::to_string(hardware_threads()));
  benchmark::AddCustomContext("spin_iters_per_us", std::to_string(spin_iterations_per_us()));
  benchmark::AddCustomContext("io_backend", std::string(coro::to_string(coro::default_backend())));
  for (const auto& workload : workloads()) {
    benchmark::AddCustomContext("category:" + workload.name,
                                std::string(to_string(workload.category)));
    if (workload.uses_fork_join) benchmark::AddCustomContext("fork_join:" + workload.name, "yes");
    if (workload.uses_spawn_tasks)
      benchmark::AddCustomContext("spawn_tasks:" + workload.name, "yes");
  }
  for (const auto& model : models()) {
    if (!model.note.empty()) benchmark::AddCustomContext("model_note:" + model.name, model.note);
    if (!model.limit_cpu.empty())
      benchmark::AddCustomContext("limit_cpu:" + model.name, model.limit_cpu);
    if (!model.limit_fork_join.empty())
      benchmark::AddCustomContext("limit_fork_join:" + model.name, model.limit_fork_join);
    benchmark::AddCustomContext("task_spawn:" + model.name, model.task_spawn.empty()
                                                                ? "none: " + model.no_task_spawn
                                                                : model.task_spawn);
  }
}

/// Google Benchmark's Initialize on a copy of the pointer array (it removes
/// what it parses). The strings must outlive the run: Google Benchmark keeps
/// argv[0] for the JSON context, so these are argv's own strings or literals.
void initialize_benchmark(std::vector<char*> args) {
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
}

/// The names of the benchmarks that RunSpecifiedBenchmarks would run for
/// these flags (the filter applied): Google Benchmark lists them into a
/// string, runs nothing, and the flags are restored afterwards.
std::vector<std::string> planned_benchmarks(const std::vector<char*>& args) {
  static char list_on[] = "--benchmark_list_tests=true",
              list_off[] = "--benchmark_list_tests=false", no_out[] = "--benchmark_out=";
  initialize_benchmark({args[0], list_on, no_out});
  std::ostringstream listing, errors;
  benchmark::ConsoleReporter reporter(benchmark::ConsoleReporter::OO_None);
  reporter.SetOutputStream(&listing);
  reporter.SetErrorStream(&errors);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  initialize_benchmark({args[0], list_off});
  initialize_benchmark(args);
  std::vector<std::string> names;
  std::istringstream lines(listing.str());
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

bool uses_openmp(std::string_view benchmark_name) {
  for (std::size_t start = 0; start < benchmark_name.size();) {
    const std::size_t end = std::min(benchmark_name.find('/', start), benchmark_name.size());
    const std::string_view part = benchmark_name.substr(start, end - start);
    if (part.find(':') != std::string_view::npos) return false;  // the arguments begin
    if (part == "openmp" || part.starts_with("openmp_")) return true;
    start = end + 1;
  }
  return false;
}

// OpenMP runs with libgomp's default wait policy (idle threads spin for a
// while, then sleep), as its users run it: the sweep runs one family per
// process. Only a process that runs OpenMP benchmarks *and* others (e.g.
// `./parbench bench --models=serial,openmp,pool`) gets passive waiting, so
// that spinning OpenMP threads do not slow the next benchmark; the policy and
// who chose it go into the JSON context. libgomp reads OMP_WAIT_POLICY when it
// is loaded, so choosing it means re-executing this binary once.
void choose_omp_wait_policy(char** argv, const std::vector<std::string>& planned) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's (or the sweep's) choice
  const auto openmp = std::count_if(planned.begin(), planned.end(),
                                    [](const std::string& name) { return uses_openmp(name); });
  if (openmp == 0 || openmp == static_cast<std::ptrdiff_t>(planned.size())) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  setenv(kPolicyReasonVariable, "parbench: OpenMP and other benchmarks share this process", 1);
  execv("/proc/self/exe", argv);
  std::perror("parbench: could not re-execute with OMP_WAIT_POLICY=passive");
}

/// The selfcheck runs every model in one process: idle OpenMP threads sleep.
void passive_for_selfcheck(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  std::perror("parbench: could not re-execute with OMP_WAIT_POLICY=passive");
}

}  // namespace
}  // namespace parbench

int main(int argc, char** argv) {
  using namespace parbench;
  // A copy of this program started as a model's worker (mpi ranks) runs that.
  if (const int status = run_worker_if_asked(argc, argv); status >= 0) return status;
  // A peer process that dies must show up as an error on write, not kill us.
  signal(SIGPIPE, SIG_IGN);
  try {
    Command command = parse(argc, argv);
    bool workers_given = false;
    for (int i = 1; i < argc; ++i)
      workers_given = workers_given || std::string_view(argv[i]).starts_with("--p=");
    if (command.verb == "list") return list(command.selection);
    if (command.verb == "info") return info();
    if (command.verb == "selfcheck") {
      passive_for_selfcheck(argv);
      return selfcheck(command.selection, workers_given);
    }
    add_all_families(command.selection);
    const std::vector<char*> benchmark_args = command.benchmark_args;  // argv's own strings
    int gb_argc = static_cast<int>(command.benchmark_args.size());
    benchmark::Initialize(&gb_argc, command.benchmark_args.data());
    if (benchmark::ReportUnrecognizedArguments(gb_argc, command.benchmark_args.data())) return 2;
    const bool listing_only =
        std::any_of(benchmark_args.begin(), benchmark_args.end(), [](const char* arg) {
          return std::string_view(arg) == "--benchmark_list_tests" ||
                 std::string_view(arg) == "--benchmark_list_tests=true";
        });
    if (!listing_only) choose_omp_wait_policy(argv, planned_benchmarks(benchmark_args));
    add_context();
    const std::size_t ran = benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (ran == 0) return 2;  // Google Benchmark has said which filter matched nothing
    return 0;
  } catch (const UsageError& error) {
    std::fprintf(stderr, "parbench: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parbench: %s\n", error.what());
    return 1;
  }
}
