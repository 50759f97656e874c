#pragma once

// Element buffers of tensors, and the per-thread cache they come from.
//
// Every tensor operation writes a new buffer. Asking the system for a fresh
// one each time costs a page fault per 4 KiB on first touch (an 8 MB buffer
// costs about 6 ms that way here), so freed buffers go back to a cache on the
// freeing thread and the next request of the same size class reuses one
// whose pages are already mapped. A training loop that repeats the same
// shapes stops allocating after its first step.

#include <array>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace adjoint {
namespace detail {

/// Free blocks by size class (powers of two of at least 64 bytes), per
/// thread, each class a linked list threaded through the free blocks.
class BufferCache {
 public:
  static constexpr std::size_t alignment = 64;
  /// Bytes a thread keeps in its cache at most; larger frees go back to the
  /// system.
  static constexpr std::size_t max_cached_bytes = std::size_t{1} << 30;

  BufferCache() { alive() = true; }
  BufferCache(const BufferCache&) = delete;
  BufferCache& operator=(const BufferCache&) = delete;
  ~BufferCache() {
    release();
    alive() = false;
  }

  static BufferCache& local() {
    static thread_local BufferCache cache;
    return cache;
  }

  /// Returns whether the calling thread's cache exists (it does not after the
  /// thread's destructors have run).
  static bool& alive() {
    static thread_local bool flag = false;
    return flag;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size_class = class_of(bytes);
    if (void* block = free_[size_class]) {
      free_[size_class] = *static_cast<void**>(block);
      cached_bytes_ -= class_bytes(size_class);
      return block;
    }
    return ::operator new (class_bytes(size_class),
                           std::align_val_t{alignment});
  }

  void deallocate(void* block, std::size_t bytes) noexcept {
    const std::size_t size_class = class_of(bytes);
    const std::size_t size = class_bytes(size_class);
    if (cached_bytes_ + size > max_cached_bytes) {
      ::operator delete (block, std::align_val_t{alignment});
      return;
    }
    // A free block holds the link to the next free block of its class.
    *static_cast<void**>(block) = free_[size_class];
    free_[size_class] = block;
    cached_bytes_ += size;
  }

  /// Returns every cached block to the system.
  void release() noexcept {
    for (void*& head : free_) {
      while (head != nullptr) {
        void* next = *static_cast<void**>(head);
        ::operator delete (head, std::align_val_t{alignment});
        head = next;
      }
    }
    cached_bytes_ = 0;
  }

  std::size_t cached_bytes() const { return cached_bytes_; }

 private:
  static constexpr std::size_t min_class = 6;  // 64 bytes

  static std::size_t class_of(std::size_t bytes) {
    const std::size_t rounded =
        std::bit_ceil(bytes | (std::size_t{1} << min_class));
    return static_cast<std::size_t>(std::countr_zero(rounded));
  }
  static std::size_t class_bytes(std::size_t size_class) {
    return std::size_t{1} << size_class;
  }

  std::array<void*, 64> free_{};  // heads of the free lists by class
  std::size_t cached_bytes_ = 0;
};

inline void* allocate_block(std::size_t bytes) {
  return BufferCache::local().allocate(bytes);
}

inline void deallocate_block(void* block, std::size_t bytes) noexcept {
  if (BufferCache::alive()) {
    BufferCache::local().deallocate(block, bytes);
  } else {
    ::operator delete (block, std::align_val_t{BufferCache::alignment});
  }
}

/// Allocator for std::allocate_shared that takes its blocks from the
/// thread's BufferCache. Graph nodes are allocated and freed by the hundred
/// per training step, all at once when the graph is released, which is the
/// pattern that makes malloc's small per-size caches overflow.
template <class U>
struct CacheAllocator {
  using value_type = U;

  CacheAllocator() = default;
  template <class V>
  CacheAllocator(const CacheAllocator<V>&) noexcept {}

  U* allocate(std::size_t n) {
    return static_cast<U*>(allocate_block(n * sizeof(U)));
  }
  void deallocate(U* block, std::size_t n) noexcept {
    deallocate_block(block, n * sizeof(U));
  }

  template <class V>
  bool operator==(const CacheAllocator<V>&) const noexcept {
    return true;
  }
};

/// An owned array of `size` elements. For trivially copyable T the memory
/// comes from the thread's BufferCache and the elements start uninitialized,
/// since every operation writes all of its output; other types (such as
/// multiprecision numbers) are value-initialized on the heap.
template <class T>
class Buffer {
  static constexpr bool cached = std::is_trivially_copyable_v<T>;

 public:
  Buffer() = default;

  explicit Buffer(std::size_t size) : size_(size) {
    if (size == 0) return;
    if constexpr (cached) {
      if (size > std::size_t(-1) / 2 / sizeof(T)) throw std::bad_alloc();
      data_ = static_cast<T*>(allocate_block(size * sizeof(T)));
    } else {
      data_ = new T[size]();
    }
  }

  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~Buffer() { reset(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

 private:
  void reset() noexcept {
    if (data_ == nullptr) return;
    if constexpr (cached) {
      deallocate_block(data_, size_ * sizeof(T));
    } else {
      delete[] data_;
    }
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace detail

/// Returns the calling thread's cached tensor buffers to the system. The
/// cache refills as tensors are created again.
inline void release_cached_memory() { detail::BufferCache::local().release(); }

}  // namespace adjoint
