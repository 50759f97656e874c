#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

namespace adjoint::detail {

/// An append-only array of a trivially copyable type for the tape's hot
/// path. Unlike std::vector it keeps its size as a count, so push_back() is
/// one compare and one store, and growth is a realloc().
template <class U>
class AppendBuffer {
  static_assert(std::is_trivially_copyable_v<U>);

 public:
  AppendBuffer() = default;
  AppendBuffer(const AppendBuffer&) = delete;
  AppendBuffer& operator=(const AppendBuffer&) = delete;
  ~AppendBuffer() { std::free(data_); }

  [[gnu::always_inline]] void push_back(const U& value) {
    if (size_ == capacity_) [[unlikely]]
      grow();
    data_[size_++] = value;
  }

  std::size_t size() const { return size_; }
  const U* data() const { return data_; }
  U& operator[](std::size_t i) { return data_[i]; }
  const U& operator[](std::size_t i) const { return data_[i]; }
  U& back() { return data_[size_ - 1]; }
  void clear() { size_ = 0; }

  /// Shrinks to `size` elements; never grows.
  void resize(std::size_t size) {
    if (size < size_) size_ = size;
  }

  /// Makes room for `count` more elements.
  [[gnu::always_inline]] void reserve_extra(std::size_t count) {
    if (capacity_ - size_ < count) [[unlikely]]
      grow(count);
  }

 private:
  [[gnu::noinline]] void grow(std::size_t count = 1) {
    std::size_t capacity = capacity_ == 0 ? 4096 : 2 * capacity_;
    if (capacity - size_ < count) capacity = size_ + count;
    void* grown = std::realloc(data_, capacity * sizeof(U));
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<U*>(grown);
    capacity_ = capacity;
  }

  U* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// Makes room for `count` more elements of a std::vector without giving up
/// its geometric growth.
template <class U>
void reserve_extra(std::vector<U>& vector, std::size_t count) {
  if (vector.capacity() - vector.size() >= count) return;
  vector.reserve(std::max(vector.size() + count, 2 * vector.capacity()));
}

template <class U>
void reserve_extra(AppendBuffer<U>& buffer, std::size_t count) {
  buffer.reserve_extra(count);
}

/// AppendBuffer where U allows it, std::vector otherwise (for example for
/// multiprecision partials).
template <class U>
using TapeArray = std::conditional_t<std::is_trivially_copyable_v<U>,
                                     AppendBuffer<U>, std::vector<U>>;

}  // namespace adjoint::detail
