// Keeps the first exception thrown by any of several concurrent bodies, so
// that a model can finish (or cancel) the rest and rethrow it to the caller.
#pragma once

#include <atomic>
#include <exception>

namespace parbench {

class FirstException {
 public:
  /// Call from a catch block: records the in-flight exception if none is yet.
  void capture() noexcept {
    if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::current_exception();
  }
  /// True once any body has thrown; used to stop handing out more work.
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// Forgets any recorded exception (for reuse; no body may be running).
  void reset() noexcept {
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
  }
  /// Rethrows the recorded exception. Call only after every body has finished.
  void rethrow_if_any() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

/// Throws std::invalid_argument for grain == 0 (shared by all models).
void check_grain(std::size_t grain);

}  // namespace parbench
