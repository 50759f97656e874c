#pragma once

// The per-thread tape that records scalar operations for the reverse sweep.
//
// Layout (structure of arrays, one entry per recorded item):
//   offsets_   node i's operands are codes_[offsets_[i], offsets_[i + 1])
//   codes_     operand node index << 2 | partial kind
//   partials_  local partial derivatives, only for operands of kind general
// A partial of exactly +1 or -1 is stored as a kind and costs no T, and a
// partial of exactly 0 is not stored at all. Values live in the Var handles,
// never on the tape.

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "autodiff/buffer.hpp"
#include "autodiff/error.hpp"

namespace adjoint {

template <class T>
class Var;
template <class T>
class Tensor;

namespace detail {

template <class T>
struct TensorState;

/// Returns the recording state of this thread. Bit 0 is set while
/// operations are recorded (see NoGradGuard). The bits above count the graph
/// logs attached to this thread's tapes. Operators test for the common case,
/// `recording` (on, no log), with one comparison.
inline std::uint32_t& recording_state() {
  static thread_local std::uint32_t state = 1;
  return state;
}

inline constexpr std::uint32_t recording = 1;
inline constexpr std::uint32_t attached_log = 2;

/// Turns recording on or off and returns whether it was on.
inline bool set_grad_enabled(bool enabled) {
  std::uint32_t& state = recording_state();
  const bool previous = (state & recording) != 0;
  state = (state & ~recording) | (enabled ? recording : 0);
  return previous;
}

/// Epoch of a handle that was moved from or fused into a later operation.
/// No tape ever has it.
inline constexpr std::uint32_t expired_epoch = 0xffffffff;

/// Returns an epoch number that no tape in the process has used before, so
/// that a handle from a released graph, or from another thread's tape, never
/// matches the epoch of the tape it is used on. Wraps after 2^32 releases.
inline std::uint32_t next_epoch() {
  static std::atomic<std::uint32_t> counter{0};
  std::uint32_t epoch = 0;
  while (epoch == 0 || epoch == expired_epoch) {
    epoch = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  return epoch;
}

/// Shared state of a parameter: its value and gradient outlive any tape.
/// Handles that copy a parameter share this state through a reference count.
template <class T>
struct LeafState {
  T value;
  T grad{0};
  std::uint32_t node = 0;   // the leaf's node index on the tape of `epoch`
  std::uint32_t epoch = 0;  // 0: not on any tape yet
  std::uint32_t references = 1;
};

// Out of line because GCC's -Wuse-after-free cannot follow the reference
// count through inlined destructors and would report a false use after free.
template <class T>
[[gnu::noinline]] void destroy(LeafState<T>* leaf) {
  delete leaf;
}

template <class T>
void release(LeafState<T>* leaf) {
  if (--leaf->references == 0) destroy(leaf);
}

/// Returns whether `x` is finite and at least the smallest normal T in
/// magnitude. Every fused partial must be. When the product of two partials
/// overflows or underflows, the two records stay apart, so the sweep
/// multiplies them into the adjoint one at a time, as without fusion
/// (1e200 * 1e200 * 1e-300 then gives 1e100, not inf).
template <class T>
bool is_normal(const T& x) {
  using std::abs;
  using std::isfinite;
  return isfinite(x) && !(abs(x) < std::numeric_limits<T>::min());
}

/// A tensor operation on the tape. The sweep calls backward() once, after
/// every operation recorded later has run, with the adjoint array of the
/// tape's scalar nodes; release() drops what backward() needed (saved
/// tensors) when the graph is released.
template <class T>
class TensorRecord {
 public:
  virtual ~TensorRecord() = default;
  virtual void backward(T* scalar_adjoints) = 0;
  virtual void release() noexcept = 0;
  /// The tensor the operation produced, or nullptr for an operation whose
  /// result is a scalar node.
  virtual const TensorState<T>* output() const { return nullptr; }
};

/// Receives every operation recorded on a tape, and the reverse sweep, while
/// attached with Tape::attach_log(). GraphRecorder (autodiff/graph.hpp)
/// implements it to draw the graph and trace the sweep. Recording with a log
/// attached takes a slower path that keeps every operation as its own node.
template <class T>
class GraphLog {
 public:
  virtual ~GraphLog() = default;
  /// A parameter's node, recorded on the parameter's first use in the graph.
  virtual void parameter(std::uint32_t node, LeafState<T>& leaf) = 0;
  /// A scalar operation with one local partial derivative per operand node.
  virtual void scalar(std::uint32_t node, const char* operation, const T& value,
                      std::span<const std::uint32_t> operands,
                      std::span<const T> partials) = 0;
  /// A tensor operation whose result is recorded: its tensor inputs and the
  /// scalar nodes it reads (as_tensor reads one).
  virtual void tensor(const char* operation,
                      std::span<const Tensor<T>* const> inputs,
                      std::span<const std::uint32_t> scalar_inputs,
                      const Tensor<T>& result) = 0;
  /// An operation on tensors whose result is scalar node `node`.
  virtual void reduction(std::uint32_t node, const char* operation,
                         const T& value,
                         std::span<const Tensor<T>* const> inputs) = 0;
  /// The sweep from node `root` begins.
  virtual void sweep_started(std::uint32_t root) = 0;
  /// The sweep reached scalar node `node`, whose adjoint is now complete.
  virtual void visit(std::uint32_t node, const T& adjoint) = 0;
  /// The sweep reached a tensor operation. `output.pending` contains the
  /// complete gradient of its result, which its rule is about to read.
  virtual void visit(const TensorState<T>& output) = 0;
  /// The sweep has added to every parameter's gradient.
  virtual void sweep_finished() = 0;
  /// The graph was released; the tape has detached the log.
  virtual void released() = 0;
};

enum PartialKind : std::uint32_t { general = 0, plus_one = 1, minus_one = 2 };

inline constexpr std::uint32_t kind_bits = 2;
inline constexpr std::uint32_t kind_mask = (1u << kind_bits) - 1;
inline constexpr std::size_t max_nodes = std::size_t{1} << (32 - kind_bits);

}  // namespace detail

/// The tape of scalar operations of type T on the calling thread.
///
/// Every differentiable scalar operation appends one node. Execution order is
/// a topological order, so backward() is a single reverse loop. The tape's
/// buffers keep their capacity when it is cleared, so a training loop that
/// records the same graph every step stops allocating after the first.
template <class T>
class Tape {
 public:
  Tape() { offsets_.push_back(0); }
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  ~Tape() {
    if (log_ != nullptr) release_log()->released();
    release_leaves();
    release_tensor_records();
  }

  /// Returns the calling thread's tape for scalar type T.
  static Tape& active() {
    static thread_local Tape tape;
    return tape;
  }

  /// Number of nodes recorded since the last clear.
  std::size_t size() const { return offsets_.size() - 1; }

  /// Bytes of recorded operations (offsets, operand codes and partials).
  std::size_t memory_bytes() const {
    return offsets_.size() * sizeof(std::uint32_t) +
           codes_.size() * sizeof(std::uint32_t) + partials_.size() * sizeof(T);
  }

  /// Tag of the current graph; it changes whenever the graph is released.
  std::uint32_t epoch() const { return epoch_; }

  /// Releases every recorded node. Parameters keep their values and
  /// gradients; intermediate nodes of the released graph can no longer be
  /// used in operations or in backward().
  void clear() {
    if (log_ != nullptr) release_log()->released();
    offsets_.clear();
    offsets_.push_back(0);
    codes_.clear();
    partials_.clear();
    release_leaves();
    release_tensor_records();
    epoch_ = detail::next_epoch();
  }

  /// Returns the node index of `operand` on this tape, recording a node for
  /// a parameter that first appears in the current graph. `operation` names
  /// the caller in the error raised for a released graph.
  [[gnu::always_inline]] std::uint32_t resolve(const Var<T>& operand,
                                               const char* operation);

  /// Appends one operand of the node being recorded. Resolve every operand
  /// before the first push, since resolving a parameter records a node.
  [[gnu::always_inline]] void push_operand(std::uint32_t index,
                                           const T& partial) {
    if (partial == T(0)) return;
    if (partial == T(1)) {
      codes_.push_back(index << detail::kind_bits | detail::plus_one);
    } else if (partial == T(-1)) {
      codes_.push_back(index << detail::kind_bits | detail::minus_one);
    } else {
      codes_.push_back(index << detail::kind_bits | detail::general);
      partials_.push_back(partial);
    }
  }

  /// Makes room for one more node with up to `operands` operands, so that
  /// recording it cannot fail halfway and leave a partial record. Call it
  /// after resolving the operands, since resolving can record nodes too.
  /// Raises graph_error when the tape is full.
  [[gnu::always_inline]] void reserve_record(std::size_t operands) {
    if (size() + 1 >= detail::max_nodes) [[unlikely]]
      throw_full();
    offsets_.reserve_extra(1);
    codes_.reserve_extra(operands);
    detail::reserve_extra(partials_, operands);
  }

  /// Closes the node whose operands were pushed and returns its index.
  [[gnu::always_inline]] std::uint32_t finish_node() {
    const std::size_t index = size();
    offsets_.push_back(static_cast<std::uint32_t>(codes_.size()));
    return static_cast<std::uint32_t>(index);
  }

  /// Folds an operation whose operand is `expiring`, with local partial
  /// `factor`, into the record of `expiring` by the chain rule. That is
  /// possible when `expiring` is the last node recorded and no other handle
  /// refers to it. Then `expiring` expires and its node index, now the
  /// result's, is returned. Otherwise nothing changes and the result is
  /// empty.
  ///
  /// Fusion keeps one record per expression such as square(z - w * x), so
  /// the tape stores and the sweep visits one node where it would visit four.
  [[gnu::always_inline]] std::optional<std::uint32_t> fuse(Var<T>& expiring,
                                                           const T& factor);

  /// As fuse(expiring, factor), and appends one more operand to the record.
  [[gnu::always_inline]] std::optional<std::uint32_t> fuse(
      Var<T>& expiring, const T& factor, std::uint32_t extra_index,
      const T& extra_partial);

  /// Keeps later operations from folding into the node of `operand`, whose
  /// adjoint a tensor record will read.
  void pin(const Var<T>& operand) const;

  /// Appends a tensor operation. It runs in the sweep after every scalar
  /// node recorded from now on and before every earlier one, so it may read
  /// the adjoint of a scalar node recorded just before it and add to the
  /// adjoints of any earlier node.
  void record_tensor(std::shared_ptr<detail::TensorRecord<T>> record) {
    tensor_records_.push_back(
        {static_cast<std::uint32_t>(size()), std::move(record)});
  }

  /// Makes room for one more tensor operation, so that record_tensor()
  /// cannot fail.
  void reserve_tensor_record() { detail::reserve_extra(tensor_records_, 1); }

  /// Number of tensor operations recorded since the last clear.
  std::size_t tensor_records() const { return tensor_records_.size(); }

  /// Runs the reverse sweep from node `root` (seeded with adjoint 1) and
  /// adds the result to the gradient of every parameter in the graph.
  void sweep(std::uint32_t root);

  /// Sends every operation recorded from now on, and every sweep, to `log`
  /// until the graph is released or detach_log() is called. Raises
  /// graph_error when another log is attached.
  void attach_log(detail::GraphLog<T>& log) {
    if (log_ != nullptr) {
      throw graph_error(
          "GraphRecorder: another recorder is already recording this "
          "thread's graph; destroy it first");
    }
    log_ = &log;
    detail::recording_state() += detail::attached_log;
  }

  /// Detaches `log` if it is attached.
  void detach_log(const detail::GraphLog<T>& log) noexcept {
    if (log_ == &log) release_log();
  }

  /// The attached log, or nullptr.
  detail::GraphLog<T>* graph_log() const { return log_; }

 private:
  [[noreturn, gnu::noinline, gnu::cold]] void throw_full() const {
    throw graph_error(fmt::format(
        "tape: the graph has {} nodes, the maximum one tape can hold; call "
        "backward() or Tape::clear() on shorter graphs",
        size()));
  }

  [[noreturn, gnu::noinline, gnu::cold]] static void throw_released(
      const char* operation) {
    throw graph_error(fmt::format(
        "{}: an operand was moved from, or belongs to a graph that was "
        "released (by backward() or Tape::clear()) or to another thread; "
        "recompute it, or use detach() to keep its value as a constant",
        operation));
  }

  // Detaches the log and returns it.
  detail::GraphLog<T>* release_log() noexcept {
    detail::recording_state() -= detail::attached_log;
    return std::exchange(log_, nullptr);
  }

  // Records the node of a parameter on its first use in the current graph.
  [[gnu::noinline]] void add_leaf(detail::LeafState<T>* leaf) {
    reserve_record(0);
    const auto node = static_cast<std::uint32_t>(size());
    leaves_.push_back({leaf, node});
    finish_node();
    leaf->node = node;
    leaf->epoch = epoch_;
    ++leaf->references;
    if (log_ != nullptr) log_->parameter(node, *leaf);
  }

  // Multiplies the partials of the last node, whose operands start at code
  // `begin`, by `factor`. Returns false, changing nothing, when the record
  // is too long to rebuild.
  [[gnu::always_inline]] bool rescale_last(std::size_t begin, const T& factor) {
    if (factor == T(1)) return true;
    if (codes_.size() == begin + 1 && factor != T(0) &&
        (codes_[begin] & detail::kind_mask) == detail::general) {
      const T product = partials_.back() * factor;
      if (!detail::is_normal(product)) return false;
      partials_.back() = product;
      return true;
    }
    return rebuild_last(begin, factor);
  }

  bool rebuild_last(std::size_t begin, const T& factor);

  [[gnu::noinline, gnu::cold]] void sweep_logged(std::uint32_t root);

  void release_tensor_records() noexcept {
    for (TensorEntry& entry : tensor_records_) entry.record->release();
    tensor_records_.clear();
  }

  void release_leaves() {
    for (const LeafEntry& entry : leaves_) {
      // Forget the node so that a later tape whose epoch comes round to
      // this one's value, after 2^32 releases, never reuses it.
      if (entry.leaf->epoch == epoch_) entry.leaf->epoch = 0;
      detail::release(entry.leaf);
    }
    leaves_.clear();
  }

  // A parameter used in the current graph and its node here. The node is
  // kept beside the parameter's own record of it, which another thread's
  // tape may have overwritten since.
  struct LeafEntry {
    detail::LeafState<T>* leaf;
    std::uint32_t node;
  };

  // A tensor operation and the number of scalar nodes recorded before it.
  struct TensorEntry {
    std::uint32_t after;
    std::shared_ptr<detail::TensorRecord<T>> record;
  };

  detail::AppendBuffer<std::uint32_t> offsets_;
  detail::AppendBuffer<std::uint32_t> codes_;
  detail::TapeArray<T> partials_;
  // Parameters used in the current graph, in the order of their nodes. The
  // tape holds a reference to each so that none is freed before backward().
  std::vector<LeafEntry> leaves_;
  std::vector<TensorEntry> tensor_records_;
  // Adjoints by node index. Every entry is zero outside sweep(), so a sweep
  // only grows the array and never clears it.
  std::vector<T> adjoints_;
  std::uint32_t epoch_ = detail::next_epoch();
  detail::GraphLog<T>* log_ = nullptr;
};

template <class T>
void Tape<T>::sweep(std::uint32_t root) {
  if (log_ != nullptr) [[unlikely]] {
    sweep_logged(root);
    return;
  }
  adjoints_.resize(size(), T(0));
  adjoints_[root] = T(1);
  // Raw pointers: the compiler cannot keep vector members in registers
  // across the stores into the adjoint array.
  T* const adjoints = adjoints_.data();
  const std::uint32_t* const offsets = offsets_.data();
  const std::uint32_t* const codes = codes_.data();
  const T* const partials = partials_.data();
  std::size_t code = codes_.size();
  std::size_t partial = partials_.size();
  std::size_t leaf = leaves_.size();
  // Tensor operations recorded after the root's node cannot receive a
  // gradient from it.
  std::size_t record = tensor_records_.size();
  while (record > 0 && tensor_records_[record - 1].after > root + 1) --record;
  std::size_t node = size();
  for (;;) {
    // Scalar nodes down to the next tensor operation, then that operation.
    const std::size_t stop = record > 0 ? tensor_records_[record - 1].after : 0;
    while (node > stop) {
      --node;
      const std::size_t begin = offsets[node];
      const T adjoint = adjoints[node];
      adjoints[node] = T(0);
      if (begin == code) {
        // A node without operands is a parameter, the result of a tensor
        // reduction, or an operation whose every partial was zero.
        if (leaf > 0 && leaves_[leaf - 1].node == node) {
          leaves_[--leaf].leaf->grad += adjoint;
        }
        continue;
      }
      if (adjoint == T(0)) {
        // Nothing to propagate, but the partial cursor must still move past
        // this node's general operands.
        for (; code > begin; --code) {
          if ((codes[code - 1] & detail::kind_mask) == detail::general) {
            --partial;
          }
        }
        continue;
      }
      do {
        const std::uint32_t word = codes[--code];
        T& target = adjoints[word >> detail::kind_bits];
        const std::uint32_t kind = word & detail::kind_mask;
        if (kind == detail::general) {
          target += adjoint * partials[--partial];
        } else if (kind == detail::plus_one) {
          target += adjoint;
        } else {
          target -= adjoint;
        }
      } while (code > begin);
    }
    if (record == 0) break;
    tensor_records_[--record].record->backward(adjoints);
  }
}

// The sweep of sweep(), in the same order and with the same arithmetic,
// reporting every node and tensor operation to the log as it reaches them.
// Kept apart so that the log costs sweep() one test.
template <class T>
void Tape<T>::sweep_logged(std::uint32_t root) {
  log_->sweep_started(root);
  adjoints_.resize(size(), T(0));
  adjoints_[root] = T(1);
  std::size_t code = codes_.size();
  std::size_t partial = partials_.size();
  std::size_t leaf = leaves_.size();
  std::size_t record = tensor_records_.size();
  while (record > 0 && tensor_records_[record - 1].after > root + 1) --record;
  for (std::size_t node = size();; --node) {
    // Tensor operations recorded after node - 1 run before it.
    while (record > 0 && tensor_records_[record - 1].after == node) {
      detail::TensorRecord<T>& operation = *tensor_records_[--record].record;
      if (const detail::TensorState<T>* output = operation.output()) {
        log_->visit(*output);
      }
      operation.backward(adjoints_.data());
    }
    if (node == 0) break;
    const std::size_t index = node - 1;
    const T adjoint = std::exchange(adjoints_[index], T(0));
    log_->visit(static_cast<std::uint32_t>(index), adjoint);
    const std::size_t begin = offsets_[index];
    if (begin == code && leaf > 0 && leaves_[leaf - 1].node == index) {
      leaves_[--leaf].leaf->grad += adjoint;
    }
    for (; code > begin; --code) {
      const std::uint32_t word = codes_[code - 1];
      const std::uint32_t kind = word & detail::kind_mask;
      const T local = kind == detail::general    ? partials_[--partial]
                      : kind == detail::plus_one ? T(1)
                                                 : T(-1);
      // As in sweep(), a zero adjoint propagates nothing, not even 0 * inf.
      if (adjoint != T(0))
        adjoints_[word >> detail::kind_bits] += adjoint * local;
    }
  }
  log_->sweep_finished();
}

/// Turns recording off on this thread for the guard's lifetime, for every
/// scalar type. Operations inside return constants: use it for evaluation
/// and for parameter updates.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(detail::set_grad_enabled(false)) {}
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
  ~NoGradGuard() { detail::set_grad_enabled(previous_); }

 private:
  bool previous_;
};

/// Turns recording on for its lifetime, also inside a NoGradGuard, and puts
/// back the mode before; as torch.enable_grad. The gradient checker and the
/// precision audit use it for their reverse pass.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(detail::set_grad_enabled(true)) {}
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;
  ~EnableGradGuard() { detail::set_grad_enabled(previous_); }

 private:
  bool previous_;
};

/// Returns whether operations on this thread are being recorded.
inline bool is_grad_enabled() {
  return (detail::recording_state() & detail::recording) != 0;
}

}  // namespace adjoint
