// parbench_bench: the benchmark binary behind ./parbench.
//
//   parbench_bench list      [selection options]   what can run
//   parbench_bench list --json [selection options] the same as one JSON object (the catalogue)
//   parbench_bench selfcheck [selection options]   run and verify at small sizes
//   parbench_bench info                            build and calibration facts (JSON)
//   parbench_bench [selection options] [--benchmark_* flags]   benchmark
//   parbench_bench --help | -h | --version
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
//   --size-scale=F    default and quick sizes times F (the sweep's size rule)
//   --affinity=none|compact|spread   how the workload families' workers are bound
//   --scaling=strong|weak   weak: n grows with p so work per worker is fixed
// Anything else must be a Google Benchmark flag (--benchmark_*, --v).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <omp.h>
#include <oneapi/tbb/version.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/harness.hpp"
#include "benchmarks/json.hpp"
#include "core/spin.hpp"
#include "coro/io_loop.hpp"
#include "parbench_version.hpp"

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

constexpr std::size_t kMaxRepetitions = 1000;
// The largest concurrency: n = size x p stays far from overflow, and a coroutine
// model (no cap of its own) is not asked for a million descriptors.
constexpr std::size_t kMaxConcurrency = 65536;
// --benchmark_min_time is refused above this (and at 0 or below).
constexpr std::size_t kMaxMinTimeSeconds = 3600;

std::size_t parse_positive(const std::string& text, const char* what) {
  std::size_t value = 0;
  bool ok = !text.empty() && text.size() < 20;
  for (char ch : text) ok = ok && ch >= '0' && ch <= '9';
  if (ok) value = std::stoull(text);
  if (!ok || value == 0)
    throw UsageError(std::string(what) + " must be a positive integer, got '" + text + "'");
  return value;
}

/// A list option's values, each once: --p=2,2 would register every benchmark twice.
std::vector<std::size_t> parse_positive_list(const std::string& text, const char* what,
                                             std::size_t largest) {
  std::vector<std::size_t> values;
  for (const auto& part : split(text)) {
    const std::size_t value = parse_positive(part, what);
    if (value > largest)
      throw UsageError(std::string(what) + " = " + part + " is above " + std::to_string(largest));
    if (std::find(values.begin(), values.end(), value) != values.end())
      throw UsageError(std::string(what) + " names " + part + " twice");
    values.push_back(value);
  }
  return values;
}

/// Google Benchmark's --benchmark_min_time and --benchmark_repetitions, checked
/// before it sees them: it accepts min_time=nan and then never ends a benchmark.
void check_benchmark_flag(std::string_view arg) {
  const auto value_after = [&](std::string_view flag) -> std::optional<std::string> {
    if (!arg.starts_with(flag) || arg.size() == flag.size() || arg[flag.size()] != '=')
      return std::nullopt;
    return std::string(arg.substr(flag.size() + 1));
  };
  if (auto value = value_after("--benchmark_min_time")) {
    std::string number = *value;
    if (!number.empty() && number.back() == 's') number.pop_back();
    char* end = nullptr;
    errno = 0;
    const double seconds = number.empty() ? -1 : std::strtod(number.c_str(), &end);
    if (errno != 0 || end == nullptr || *end != '\0' || !std::isfinite(seconds) ||
        !(seconds > 0 && seconds <= kMaxMinTimeSeconds))
      throw UsageError("--benchmark_min_time: '" + *value + "' is not a number of seconds in (0, " +
                       std::to_string(kMaxMinTimeSeconds) + "]");
  }
  if (auto value = value_after("--benchmark_repetitions")) {
    if (parse_positive(*value, "--benchmark_repetitions") > kMaxRepetitions)
      throw UsageError("--benchmark_repetitions: " + *value + " is above " +
                       std::to_string(kMaxRepetitions));
  }
  // Google Benchmark answers a bad value of these with its usage text and exit 0.
  const auto one_of = [&](std::string_view flag, std::initializer_list<std::string_view> valid) {
    if (auto value = value_after(flag);
        value && std::find(valid.begin(), valid.end(), *value) == valid.end()) {
      std::string names;
      for (auto name : valid) names += (names.empty() ? "" : ", ") + std::string(name);
      throw UsageError(std::string(flag) + ": '" + *value + "' is not one of " + names);
    }
  };
  one_of("--benchmark_format", {"console", "json", "csv"});
  one_of("--benchmark_out_format", {"console", "json", "csv"});
  one_of("--benchmark_time_unit", {"ns", "us", "ms", "s"});
  if (auto value = value_after("--benchmark_out")) {
    const std::filesystem::path out(*value);
    const std::filesystem::path folder = out.has_parent_path() ? out.parent_path() : ".";
    std::error_code error;
    if (value->empty() || !std::filesystem::is_directory(folder, error))
      throw UsageError("--benchmark_out: " +
                       (value->empty() ? std::string("empty") : "no folder " + folder.string()));
  }
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
  std::string verb = "run";  // run | list | selfcheck | info
  bool json = false;         // list --json
  Selection selection;
  std::vector<char*> benchmark_args;  // argv for Google Benchmark
};

Command parse(int argc, char** argv) {
  Command command;
  command.benchmark_args.push_back(argv[0]);
  std::vector<std::size_t> automatic_workers;
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
    } else if (arg == "--json") {
      if (command.verb != "list") throw UsageError("--json is an option of list: list --json");
      command.json = true;
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
    } else if (arg.starts_with("--auto-p")) {
      // The automatic worker counts (the sweep's, from the topology) in place of
      // default_worker_counts(): unlike --p, the I/O workloads keep their concurrency levels.
      automatic_workers = parse_positive_list(value_of("--auto-p"), "worker count p", kMaxWorkers);
    } else if (arg.starts_with("--p=") || arg == "--p") {
      workers_given = true;
      command.selection.workers =
          parse_positive_list(value_of("--p"), "worker count p", kMaxWorkers);
    } else if (arg.starts_with("--concurrency")) {
      command.selection.concurrency =
          parse_positive_list(value_of("--concurrency"), "concurrency p", kMaxConcurrency);
    } else if (arg.starts_with("--affinity")) {
      const std::string value = value_of("--affinity");
      const std::optional<Affinity> policy = parse_affinity(value);
      if (!policy)
        throw UsageError("--affinity must be none, compact or spread, got '" + value + "'");
      command.selection.affinity = *policy;
    } else if (arg.starts_with("--numa")) {
      const std::string value = value_of("--numa");
      const std::optional<MemoryPolicy> policy = parse_memory_policy(value);
      if (!policy)
        throw UsageError("--numa must be first_touch or interleave, got '" + value + "'");
      command.selection.memory = *policy;
    } else if (arg.starts_with("--size-scale")) {
      const std::string value = value_of("--size-scale");
      char* end = nullptr;
      const double scale = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(scale >= 1.0 && scale <= 1000.0))
        throw UsageError("--size-scale must be a number from 1 to 1000, got '" + value + "'");
      command.selection.size_scale = scale;
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
        command.selection.sizes = parse_positive_list(value, "size n", SIZE_MAX);
      }
    } else if (arg.starts_with("--scaling")) {
      const std::string value = value_of("--scaling");
      if (value == "strong")
        command.selection.scaling = Selection::Scaling::strong;
      else if (value == "weak")
        command.selection.scaling = Selection::Scaling::weak;
      else
        throw UsageError("--scaling must be strong or weak, got '" + value + "'");
    } else if (arg.starts_with("--benchmark_") || arg.starts_with("--v=")) {
      check_benchmark_flag(arg);
      command.benchmark_args.push_back(argv[i]);
    } else {
      throw UsageError(
          "unknown option '" + std::string(arg) +
          "' (parbench options: --workloads= --models= --primitives= --skip-models= --p= --auto-p= "
          "--affinity= --numa= "
          "--concurrency= --size= --size-scale= "
          "--scaling=; "
          "Google Benchmark flags start with --benchmark_; --help lists them)");
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
  // A selected workload's environment settings are checked now: a bad one would otherwise
  // fail each of its benchmarks at setup, after everything before them had run.
  for (const WorkloadInfo* workload : selection.workloads)
    for (const Knob& knob : workload->knobs) {
      try {
        (void)knob.value();
      } catch (const std::invalid_argument& error) {
        throw UsageError(std::string(error.what()) + " (a setting of workload " + workload->name +
                         "; unset it for its default " + std::to_string(knob.default_value) + ")");
      }
    }
  std::erase_if(selection.models, [&](const ModelInfo* model) {
    return std::find(skipped_models.begin(), skipped_models.end(), model->name) !=
           skipped_models.end();
  });
  if (!workers_given)
    selection.workers = automatic_workers.empty() ? default_worker_counts() : automatic_workers;
  selection.workers_given = workers_given;
  if (selection.size_set == Selection::SizeSet::given) {
    for (const WorkloadInfo* workload : selection.workloads)
      for (std::size_t n : selection.sizes)
        if (n < workload->min_size || n > workload->max_size)
          throw UsageError("size " + std::to_string(n) + " is out of range for workload '" +
                           workload->name + "' (accepted: " + std::to_string(workload->min_size) +
                           ".." + std::to_string(workload->max_size) + ")");
  }
  // A concurrency above a model's cap is left out there: said, not silently dropped.
  for (const ModelInfo* model : selection.models)
    for (const std::size_t p : selection.concurrency)
      if (model->parallel && model->max_concurrency != 0 && p > model->max_concurrency)
        std::fprintf(stderr,
                     "parbench: note: %s runs the I/O workloads at concurrency up to %zu; "
                     "p = %zu is left out there\n",
                     model->name.c_str(), model->max_concurrency, p);
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

// `list --json`: the catalogue, for the driver and the report. What list prints, as data:
// the selected models and workloads, every primitive family and the parser's limits.
int list_json(const Selection& selection) {
  JsonWriter json;
  json.begin_object().key("parbench_catalogue").integer(1);
  json.key("limits").begin_object();
  json.key("max_workers").integer(kMaxWorkers);
  json.key("max_concurrency").integer(kMaxConcurrency);
  json.key("max_repetitions").integer(kMaxRepetitions);
  json.key("max_min_time_seconds").integer(kMaxMinTimeSeconds);
  json.end_object();
  json.key("worker_counts").integers(selection.workers);
  json.key("models").begin_array();
  for (const ModelInfo* m : selection.models) {
    json.begin_object();
    json.key("name").string(m->name).key("label").string(m->label);
    json.key("group").string(m->group).key("launch").string(m->launch);
    json.key("summary").string(m->summary).key("order").integer(m->order);
    json.key("parallel").boolean(m->parallel);
    json.key("concurrent_tasks").boolean(m->concurrent_tasks);
    json.key("task_spawn").string(m->task_spawn).key("no_task_spawn").string(m->no_task_spawn);
    json.key("limit_cpu").string(m->limit_cpu);
    json.key("limit_fork_join").string(m->limit_fork_join);
    json.key("limit_files").string(m->limit_files);
    json.key("note").string(m->note);
    json.key("max_concurrency").integer(m->max_concurrency);  // 0: no limit
    json.end_object();
  }
  json.end_array();
  json.key("workloads").begin_array();
  for (const WorkloadInfo* w : selection.workloads) {
    json.begin_object();
    json.key("name").string(w->name).key("category").string(to_string(w->category));
    json.key("summary").string(w->summary).key("size_meaning").string(w->size_meaning);
    json.key("sizes").begin_object();
    json.key("default").integers(w->default_sizes).key("quick").integers(w->quick_sizes);
    json.key("small").integer(w->small_size);
    json.key("min").integer(w->min_size).key("max").integer(w->max_size);
    json.end_object();
    json.key("uses_fork_join").boolean(w->uses_fork_join);
    json.key("uses_spawn_tasks").boolean(w->uses_spawn_tasks);
    json.key("work_exponent").number(w->work_exponent);
    json.key("concurrency_levels").integers(w->concurrency_levels);
    json.key("reads_back_files").boolean(w->reads_back_files);
    json.key("roles").strings(roles(*w));
    json.key("knobs").begin_array();
    for (const Knob& knob : w->knobs) {
      json.begin_object().key("name").string(knob.name);
      json.key("default").integer(knob.default_value);
      json.key("min").integer(knob.min_value).key("max").integer(knob.max_value);
      json.end_object();
    }
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.key("primitives").begin_array();
  for (const FamilyInfo& family : primitive_families()) {
    json.begin_object().key("family").string(family.prefix);
    json.key("summary").string(family.summary).end_object();
  }
  json.end_array();
  json.end_object();
  std::printf("%s\n", json.text().c_str());
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
            const auto executor = model->make(p);
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
/// Each binding policy's CPU order over this process's CPUs ({"compact": [0, 1], ...}): the
/// Python track binds its workers by it, so both tracks place worker i on the same CPU.
std::string placements_json() {
  std::string text = "{";
  for (const std::string_view name : kAffinityPolicies) {
    const Affinity policy = *parse_affinity(name);
    if (policy == Affinity::none) continue;
    text += (text.size() > 1 ? ", " : "") + json_string(std::string(name)) + ": [";
    const Placement placement = Placement::of(policy);
    for (std::size_t i = 0; i < placement.cpus().size(); ++i)
      text += (i == 0 ? "" : ", ") + std::to_string(placement.cpus()[i]);
    text += "]";
  }
  return text + "}";
}

int info() {
  const std::string text =
      "{\"spin_iters_per_us\": " + std::to_string(spin_iterations_per_us()) +
      ", \"hardware_threads\": " + std::to_string(hardware_threads()) +
      ", \"compiler\": " + json_string(std::string("g++ ") + __VERSION__) +
      ", \"build_type\": " + json_string(PARBENCH_BUILD_TYPE) +
      ", \"cxx_flags\": " + json_string(PARBENCH_CXX_FLAGS) +
      ", \"sanitizer\": " + json_string(PARBENCH_SANITIZER) +
      ", \"tbb_version\": " + json_string(TBB_VERSION_STRING) +
      ", \"openmp_version\": " + std::to_string(_OPENMP) +
      ", \"omp_wait_policy\": " + json_string(omp_wait_policy()) +
      ", \"io_backend\": " + json_string(coro::to_string(coro::default_backend())) +
      ", \"io_backend_reason\": " + json_string(coro::backend_reason()) +
      ", \"placements\": " + placements_json() + "}\n";
  std::fputs(text.c_str(), stdout);
  return 0;
}

/// Google Benchmark's display reporter (--benchmark_format), counting the runs
/// that reported an error: a benchmark whose set-up or run failed makes the
/// exit status 1, not 0.
template <class Base>
class ErrorCounting final : public Base {
 public:
  template <class... Args>
  explicit ErrorCounting(std::size_t& errors, Args... args) : Base(args...), errors_(errors) {}
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    for (const auto& run : runs)
      if (run.error_occurred) ++errors_;
    Base::ReportRuns(runs);
  }

 private:
  std::size_t& errors_;
};

std::unique_ptr<benchmark::BenchmarkReporter> display_reporter(const std::vector<char*>& args,
                                                               std::size_t& errors) {
  std::string format = "console";
  bool tabular = false;
  for (const char* arg : args) {
    const std::string_view text = arg;
    if (text.starts_with("--benchmark_format=")) format = text.substr(19);
    if (text == "--benchmark_counters_tabular" || text == "--benchmark_counters_tabular=true")
      tabular = true;
  }
  if (format == "json") return std::make_unique<ErrorCounting<benchmark::JSONReporter>>(errors);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // still a --benchmark_format value
  if (format == "csv") return std::make_unique<ErrorCounting<benchmark::CSVReporter>>(errors);
#pragma GCC diagnostic pop
  const char* term = std::getenv("TERM");
  const bool color = isatty(STDOUT_FILENO) && term != nullptr && std::string_view(term) != "dumb";
  int options = (color ? benchmark::ConsoleReporter::OO_Color : 0) |
                (tabular ? benchmark::ConsoleReporter::OO_Tabular : 0);
  return std::make_unique<ErrorCounting<benchmark::ConsoleReporter>>(
      errors, static_cast<benchmark::ConsoleReporter::OutputOptions>(options));
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

/// OpenMP's users bind with OMP_PROC_BIND and OMP_PLACES, which libgomp reads
/// when it loads: a run with --affinity that plans OpenMP benchmarks sets them
/// (close, the policy's CPUs in order as places) and starts again.
void bind_openmp(char** argv, const Selection& selection, const std::vector<std::string>& planned) {
  if (selection.affinity == Affinity::none || std::getenv("PARBENCH_OMP_BOUND") != nullptr) return;
  if (std::none_of(planned.begin(), planned.end(),
                   [](const std::string& name) { return uses_openmp(name); }))
    return;
  const Placement placement = Placement::of(selection.affinity);
  if (!placement.binds()) return;
  setenv("OMP_PLACES", placement.omp_places(placement.cpus().size()).c_str(), 1);
  setenv("OMP_PROC_BIND", "close", 1);
  setenv(kAllowedCpusVariable, allowed_cpus_text().c_str(), 0);  // a caller's choice stays
  setenv("PARBENCH_OMP_BOUND", std::string(affinity_name(selection.affinity)).c_str(), 1);
  execv("/proc/self/exe", argv);
  std::perror("parbench: could not re-execute with OMP_PLACES set");
}

/// The selfcheck runs every model in one process: idle OpenMP threads sleep.
void passive_for_selfcheck(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  std::perror("parbench: could not re-execute with OMP_WAIT_POLICY=passive");
}

// A message may quote an argument or an environment value: none of its control characters
// (C0 but tab, DEL, C1 as UTF-8) reaches the terminal as one; each is written as \xNN.
std::string inert(std::string_view text) {
  std::string shown;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto escape = [&](unsigned code) {
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", code);
    shown += escaped;
  };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char byte = at(i);
    // the length of a well-formed UTF-8 sequence starting here (0: not one)
    std::size_t length = byte < 0x80                    ? 1
                         : byte >= 0xc2 && byte <= 0xdf ? 2
                         : byte >= 0xe0 && byte <= 0xef ? 3
                         : byte >= 0xf0 && byte <= 0xf4 ? 4
                                                        : 0;
    for (std::size_t k = 1; k < length; ++k)
      if (i + k >= text.size() || (at(i + k) & 0xc0) != 0x80) length = 0;
    if (length == 0) {  // a byte that is not UTF-8: some terminals take 0x9b as an escape
      escape(byte);
      ++i;
    } else if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
      escape(byte);
      ++i;
    } else if (byte == 0xc2 && at(i + 1) <= 0x9f) {  // C1 control, U+0080 to U+009F
      escape(at(i + 1));
      i += 2;
    } else {
      shown.append(text.substr(i, length));
      i += length;
    }
  }
  return shown;
}

constexpr const char* kUsage =
    R"(usage: parbench_bench [list [--json] | selfcheck | info] [options] [--benchmark_* flags]

Verbs (the first argument; none: run the benchmarks):
  list              what the options select: workloads, models, worker counts, primitive families
  list --json       the same as one JSON object (the catalogue), with the limits of every option
  selfcheck         run every selected workload on every selected model at small sizes and verify
  info              facts about this build and machine, as one JSON object
Selection options (list, selfcheck and a run):
  --workloads=a,b   workloads to include: names, all or none (default: all)
  --models=a,b      models to include: names or all (default: all)
  --primitives=a,b  primitive families by prefix (overhead, sync/mutex, ...), all or none
                    (default: all when nothing is selected, none when --workloads or --models is)
  --skip-models=a,b models to leave out
  --p=1,2,4         worker counts of the parallel models (default: powers of two up to the
                    CPUs this process may use, that count, and twice it)
  --auto-p=1,2,4    the automatic worker counts in place of the default above (the sweep's,
                    from the topology); unlike --p, the I/O workloads keep their own levels
  --concurrency=1,16,256  p values of the I/O workloads (default: each workload's own levels)
  --size=default|quick|small|N[,N...]   sizes n (default: each workload's own)
  --affinity=none|compact|spread   bind the workload families' workers: compact (one socket's
                    cores first, SMT siblings last) or spread (round-robin over sockets and NUMA
                    nodes); names then carry /affinity:<policy> (default: none, the OS places them)
  --numa=first_touch|interleave   where the workload families' pages go: on the node of the
                    worker that first writes them (default), or dealt over every allowed NUMA
                    node (libnuma); names then carry /numa:interleave
  --size-scale=F    the default and quick sizes times F (1 to 1000; the sweep's size rule)
  --scaling=strong|weak   weak: n grows with p so that the work per worker is fixed
Other:
  -h, --help        this text, then Google Benchmark's flags
  --version         the version and the git commit it was built from
Every --benchmark_* flag of Google Benchmark (and --v=) is accepted when running; for example
--benchmark_filter=<regex>, and --benchmark_list_tests=true lists what would run. Its flags:
)";

int help() {
  std::fputs(kUsage, stdout);
  std::fflush(stdout);
  benchmark::PrintDefaultHelp();  // Google Benchmark's own list (1.7.1 has no flag that prints it)
  return 0;
}

int version() {
  std::printf("parbench_bench %s (%s)\n", PARBENCH_VERSION, PARBENCH_GIT_SHA);
  return 0;
}

void print_error(std::string_view message) {
  std::fprintf(stderr, "parbench: %s\n", inert(message).c_str());
}

// An argument holding a control character is refused before anything quotes it (Google
// Benchmark prints an unknown flag as it is).
bool has_control_character(std::string_view argument) {
  return inert(argument) != argument;
}

}  // namespace
}  // namespace parbench

int main(int argc, char** argv) {
  using namespace parbench;
  // A copy of this program started as a model's worker (mpi ranks) runs that.
  if (const int status = run_worker_if_asked(argc, argv); status >= 0) return status;
  // A peer process that dies must show up as an error on write, not kill us.
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; ++i)
    if (has_control_character(argv[i])) {
      print_error("argument " + std::to_string(i) + " holds a control character: " + argv[i]);
      return 2;
    }
  // The same for the environment this program reads (its knobs, the temporary folder).
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    if ((variable.starts_with("PARBENCH_") || variable.starts_with("TMPDIR=")) &&
        has_control_character(variable)) {
      print_error("the environment's " + std::string(variable.substr(0, variable.find('='))) +
                  " holds a control character: " + std::string(variable));
      return 2;
    }
  }
  // Asked for help or the version: that, whatever else the command line holds.
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return help();
    if (arg == "--version") return version();
  }
  try {
    Command command = parse(argc, argv);
    bool workers_given = false;
    for (int i = 1; i < argc; ++i)
      workers_given = workers_given || std::string_view(argv[i]).starts_with("--p=");
    if (command.verb == "list")
      return command.json ? list_json(command.selection) : list(command.selection);
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
    if (!listing_only) {
      const std::vector<std::string> planned = planned_benchmarks(benchmark_args);
      bind_openmp(argv, command.selection, planned);
      choose_omp_wait_policy(argv, planned);
    }
    // Before any worker exists: they inherit it (a re-executed process sets it itself).
    const std::size_t interleaved =
        listing_only ? 0 : apply_memory_policy(command.selection.memory);
    add_context();
    benchmark::AddCustomContext("numa_policy",
                                std::string(memory_policy_name(command.selection.memory)));
    if (interleaved > 0)
      benchmark::AddCustomContext("numa_interleave_nodes", std::to_string(interleaved));
    std::size_t errors = 0;
    const auto reporter = display_reporter(benchmark_args, errors);
    const std::size_t ran = benchmark::RunSpecifiedBenchmarks(reporter.get());
    benchmark::Shutdown();
    if (ran == 0) return 2;  // Google Benchmark has said which filter matched nothing
    if (errors > 0) {
      std::fprintf(stderr, "parbench: %zu benchmark run(s) reported an error (see their rows)\n",
                   errors);
      return 1;
    }
    return 0;
  } catch (const UsageError& error) {
    print_error(error.what());
    return 2;
  } catch (const std::exception& error) {
    print_error(error.what());
    return 1;
  }
}
