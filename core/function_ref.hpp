// A non-owning reference to a callable: a few words, no allocation. The
// primitives of an execution model take their bodies this way so that a call
// through them costs one indirect call and nothing else.
#pragma once

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

namespace parbench {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  using Trampoline = R (*)(void*, Args...);

  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>) FunctionRef(F&& f)
  noexcept  // NOLINT: implicit by design, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(object),
                             std::forward<Args>(args)...);
        }),
        object_size_(sizeof(std::remove_reference_t<F>)),
        trivially_copyable_(std::is_trivially_copyable_v<std::remove_reference_t<F>>) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

  // For executors whose workers are other processes (process_pool): a
  // trivially copyable callable's bytes can be copied into shared memory and
  // invoked there through trampoline()(copy, args...).
  const void* object() const noexcept { return object_; }
  std::size_t object_size() const noexcept { return object_size_; }
  bool trivially_copyable() const noexcept { return trivially_copyable_; }
  Trampoline trampoline() const noexcept { return call_; }

 private:
  void* object_;
  Trampoline call_;
  std::size_t object_size_;
  bool trivially_copyable_;
};

}  // namespace parbench
