#pragma once

// Pictures of a graph: GraphRecorder keeps every operation of one graph with
// its values and, after backward(), the adjoints of the sweep. It writes the
// graph in Graphviz's DOT language and prints the sweep step by step:
//
//   adjoint::GraphRecorder<double> graph;
//   adjoint::Var<double> w{0.5};
//   graph.label(w, "w");
//   const adjoint::Var<double> loss = square(2.0 - w * 3.0);
//   loss.backward();
//   std::string dot = graph.dot(loss);  // render with: dot -Tsvg
//   fmt::print("{}", graph.backprop_trace());
//
// While a recorder is recording, every operation is its own node: the tape
// does not fold an operation into its operand's record, as it otherwise
// does for expressions such as square(z - w * x). Gradients are then
// products of the same partial derivatives taken in another order, so they
// may differ from an unrecorded run by rounding, by more than the last bit
// where terms nearly cancel.

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/shape.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"

namespace adjoint {

/// Records the graph of scalar type T on the calling thread from its
/// construction until the graph is released (by backward() without
/// retain_graph, or by Tape::clear()) or the recorder is destroyed, which
/// must happen on that thread. Only one recorder per scalar type may record
/// a thread's graph at a time. While any recorder records, the thread's
/// scalar operations of every type are recorded unfused. Constants are not
/// nodes, so they do not appear; their values show in the local
/// derivatives.
template <class T>
class GraphRecorder final : private detail::GraphLog<T> {
 public:
  /// Significant digits of the numbers in dot() and backprop_trace().
  static constexpr int default_digits = 6;

  GraphRecorder()
      : tape_(&Tape<T>::active()), owner_(std::this_thread::get_id()) {
    tape_->attach_log(*this);
    epoch_ = tape_->epoch();
  }

  GraphRecorder(const GraphRecorder&) = delete;
  GraphRecorder& operator=(const GraphRecorder&) = delete;

  ~GraphRecorder() override {
    if (tape_ != nullptr && std::this_thread::get_id() != owner_) {
      // Detaching would write another thread's tape while it may be in
      // use, and leaving it attached would leave that tape a dangling log.
      std::fputs(
          "adjoint::GraphRecorder: destroyed on a thread other than the one "
          "that made it, while still recording; destroy it on the thread "
          "that made it\n",
          stderr);
      std::abort();
    }
    if (tape_ != nullptr) tape_->detach_log(*this);
    for (Node& node : nodes_) {
      if (node.leaf != nullptr) detail::release(node.leaf);
    }
  }

  /// Whether operations are still being recorded.
  bool recording() const { return tape_ != nullptr; }

  /// Number of recorded nodes.
  std::size_t size() const { return nodes_.size(); }

  /// Names the node of `x` in pictures and traces, such as "w" for a
  /// parameter. A parameter may be named before its first use. Raises
  /// graph_error when x is neither a parameter nor a recorded node.
  void label(const Var<T>& x, std::string name) {
    if (x.is_leaf()) {
      labelled_vars_.push_back(x);
      name_parameter(x.parameter_id(), std::move(name));
    } else {
      nodes_[find(x, "label")].label = std::move(name);
    }
  }
  void label(const Tensor<T>& x, std::string name) {
    if (x.is_leaf()) {
      labelled_tensors_.push_back(x);
      name_parameter(x.parameter_id(), std::move(name));
    } else {
      nodes_[find(x, "label")].label = std::move(name);
    }
  }

  /// Returns the graph of every node that `root` depends on, in Graphviz's
  /// DOT language. Each node shows its name, operation, shape (tensors) and
  /// value. After backward() on this same root it also shows its gradient:
  /// the adjoint of the root with respect to it, and for a parameter its
  /// accumulated gradient. Edges run from input to result and carry the
  /// local derivative where it is a number. Tensors of more than six
  /// elements are abridged. Raises graph_error for a root this recorder did
  /// not record, and std::invalid_argument for digits outside [1, 100].
  std::string dot(const Var<T>& root, int digits = default_digits) const {
    check_digits(digits, "dot");
    return write_dot(find(root, "dot"), digits);
  }
  std::string dot(const Tensor<T>& root, int digits = default_digits) const {
    check_digits(digits, "dot");
    return write_dot(find(root, "dot"), digits);
  }

  /// Returns the last backward sweep while recording as a table. It has one
  /// entry per node that the sweep's root depends on, in the order the
  /// sweep reaches them. An entry shows the node, its operation, its value
  /// and its adjoint, which is complete when the sweep reaches it, and what
  /// the node adds to each input: adjoint * local derivative. The table
  /// ends with the gradient of every parameter. Raises graph_error when no
  /// backward() ran while recording.
  std::string backprop_trace(int digits = default_digits) const;

  /// Largest number of significant digits dot() and backprop_trace() take.
  static constexpr int max_digits = 100;

 private:
  enum class Kind { parameter, scalar, tensor, reduction, unrecorded };

  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  // Graphviz 2.43 rejects DOT strings longer than 16384 bytes.
  static constexpr std::size_t max_label_length = 1000;

  struct Input {
    std::size_t node;
    std::optional<T> partial;  // for inputs of scalar operations
  };

  struct Node {
    Kind kind;
    const char* operation;
    std::string label;
    Shape shape;  // {} for scalar nodes
    std::vector<T> value;
    std::vector<Input> inputs;
    std::vector<T> adjoint;  // from the last sweep; empty if it did not reach
    std::vector<T> grad;     // parameters: their gradient after that sweep
    detail::LeafState<T>* leaf = nullptr;  // Var parameters, referenced
    std::optional<Tensor<T>> tensor;       // tensors, kept alive
  };

  // GraphLog: called by the tape.

  void parameter(std::uint32_t node, detail::LeafState<T>& leaf) override {
    ++leaf.references;
    Node& added = add_scalar(node, Kind::parameter, "parameter", leaf.value);
    added.leaf = &leaf;
    added.label = parameter_label(&leaf);
  }

  void scalar(std::uint32_t node, const char* operation, const T& value,
              std::span<const std::uint32_t> operands,
              std::span<const T> partials) override {
    std::vector<Input> inputs;
    for (std::size_t k = 0; k < operands.size(); ++k) {
      inputs.push_back({scalar_node(operands[k]), partials[k]});
    }
    add_scalar(node, Kind::scalar, operation, value).inputs = std::move(inputs);
  }

  void tensor(const char* operation, std::span<const Tensor<T>* const> inputs,
              std::span<const std::uint32_t> scalar_inputs,
              const Tensor<T>& result) override {
    std::vector<Input> edges = tensor_inputs(inputs);
    for (std::uint32_t index : scalar_inputs) {
      edges.push_back({scalar_node(index), std::nullopt});
    }
    add_tensor(Kind::tensor, operation, result).inputs = std::move(edges);
  }

  void reduction(std::uint32_t node, const char* operation, const T& value,
                 std::span<const Tensor<T>* const> inputs) override {
    add_scalar(node, Kind::reduction, operation, value).inputs =
        tensor_inputs(inputs);
  }

  void sweep_started(std::uint32_t root) override {
    for (Node& node : nodes_) {
      node.adjoint.clear();
      node.grad.clear();
    }
    sweep_.clear();
    root_ = scalar_node(root);
  }

  void visit(std::uint32_t node, const T& adjoint) override {
    if (node >= scalar_ids_.size() || scalar_ids_[node] == none) return;
    const std::size_t id = scalar_ids_[node];
    nodes_[id].adjoint.assign(1, adjoint);
    sweep_.push_back(id);
  }

  void visit(const detail::TensorState<T>& output) override {
    const auto found = tensor_ids_.find(&output);
    if (found == tensor_ids_.end()) return;
    const detail::Pending<T>& pending = output.pending;
    std::vector<T>& adjoint = nodes_[found->second].adjoint;
    if (pending.state == detail::Pending<T>::dense) {
      adjoint.assign(pending.values.data(),
                     pending.values.data() + output.size);
    } else {
      adjoint.assign(output.size, pending.state == detail::Pending<T>::uniform
                                      ? pending.fill
                                      : T(0));
    }
    sweep_.push_back(found->second);
  }

  void sweep_finished() override {
    for (Node& node : nodes_) {
      if (node.kind != Kind::parameter) continue;
      if (node.leaf != nullptr) {
        node.grad.assign(1, node.leaf->grad);
      } else {
        const std::span<const T> grad = node.tensor->grad_values();
        node.grad.assign(grad.begin(), grad.end());
      }
    }
    swept_ = true;
  }

  void released() override { tape_ = nullptr; }

  // Building the node list.

  void name_parameter(const void* id, std::string name) {
    for (Node& node : nodes_) {
      if (node.kind == Kind::parameter && parameter_id(node) == id) {
        node.label = name;
      }
    }
    parameter_labels_[id] = std::move(name);
  }

  static const void* parameter_id(const Node& node) {
    if (node.leaf != nullptr) return node.leaf;
    return node.tensor->parameter_id();
  }

  // The label given to a parameter before its first use, if any.
  std::string parameter_label(const void* id) const {
    const auto found = parameter_labels_.find(id);
    return found == parameter_labels_.end() ? std::string() : found->second;
  }

  Node& add_scalar(std::uint32_t index, Kind kind, const char* operation,
                   const T& value) {
    nodes_.push_back(
        {kind, operation, {}, Shape{}, {value}, {}, {}, {}, nullptr, {}});
    if (scalar_ids_.size() <= index) scalar_ids_.resize(index + 1, none);
    scalar_ids_[index] = nodes_.size() - 1;
    return nodes_.back();
  }

  // A node for tensor `x`, which it keeps alive.
  Node& add_tensor(Kind kind, const char* operation, const Tensor<T>& x) {
    const std::span<const T> values = x.values();
    nodes_.push_back({kind,
                      operation,
                      {},
                      x.shape(),
                      std::vector<T>(values.begin(), values.end()),
                      {},
                      {},
                      {},
                      nullptr,
                      x});
    tensor_ids_[&x.state()] = nodes_.size() - 1;
    return nodes_.back();
  }

  // The node of scalar node `index`; a placeholder for one recorded before
  // the recorder started.
  std::size_t scalar_node(std::uint32_t index) {
    if (index < scalar_ids_.size() && scalar_ids_[index] != none) {
      return scalar_ids_[index];
    }
    add_scalar(index, Kind::unrecorded, "recorded earlier", T(0)).value.clear();
    return nodes_.size() - 1;
  }

  // The nodes of the tensor inputs of an operation. Constants are not
  // nodes; a parameter becomes one on its first use.
  std::vector<Input> tensor_inputs(std::span<const Tensor<T>* const> inputs) {
    std::vector<Input> edges;
    for (const Tensor<T>* input : inputs) {
      if (input->is_constant()) continue;
      const auto found = tensor_ids_.find(&input->state());
      if (found != tensor_ids_.end()) {
        edges.push_back({found->second, std::nullopt});
        continue;
      }
      Node& added = add_tensor(
          input->is_leaf() ? Kind::parameter : Kind::unrecorded,
          input->is_leaf() ? "parameter" : "recorded earlier", *input);
      if (input->is_leaf()) added.label = parameter_label(&input->state());
      edges.push_back({nodes_.size() - 1, std::nullopt});
    }
    return edges;
  }

  // Looking nodes up.

  std::size_t find(const Var<T>& x, const char* operation) const {
    if (x.leaf_ != nullptr) {
      for (std::size_t id = 0; id < nodes_.size(); ++id) {
        if (nodes_[id].leaf == x.leaf_) return id;
      }
    } else if (x.epoch_ == epoch_ && x.index() < scalar_ids_.size() &&
               scalar_ids_[x.index()] != none) {
      return scalar_ids_[x.index()];
    }
    throw_not_recorded(operation);
  }

  std::size_t find(const Tensor<T>& x, const char* operation) const {
    const auto found = tensor_ids_.find(&x.state());
    if (found == tensor_ids_.end()) throw_not_recorded(operation);
    return found->second;
  }

  static void check_digits(int digits, const char* operation) {
    if (digits >= 1 && digits <= max_digits) return;
    throw std::invalid_argument(fmt::format(
        "GraphRecorder::{}: invalid number of significant digits {}; use 1 "
        "to {}",
        operation, digits, max_digits));
  }

  [[noreturn]] static void throw_not_recorded(const char* operation) {
    throw graph_error(fmt::format(
        "GraphRecorder::{}: the node was not recorded by this recorder (a "
        "constant, or computed before the recorder was created or after its "
        "graph was released); create the recorder before computing the node",
        operation));
  }

  // Marks the nodes `root` depends on, itself included.
  std::vector<bool> ancestors(std::size_t root) const {
    std::vector<bool> marked(nodes_.size(), false);
    std::vector<std::size_t> stack{root};
    marked[root] = true;
    while (!stack.empty()) {
      const std::size_t id = stack.back();
      stack.pop_back();
      for (const Input& input : nodes_[id].inputs) {
        if (!marked[input.node]) {
          marked[input.node] = true;
          stack.push_back(input.node);
        }
      }
    }
    return marked;
  }

  // Text.

  // `digits` significant digits in the type's own arithmetic. Types that
  // are not built-in floating point, such as Boost.Multiprecision's, go
  // through their stream output, which does not round to long double.
  static std::string number(const T& x, int digits) {
    if constexpr (std::is_floating_point_v<T>) {
      return fmt::format("{:.{}g}", x, digits);
    } else {
      std::ostringstream out;
      out << std::setprecision(digits) << x;
      return out.str();
    }
  }

  // A scalar as a number; a tensor as its values, at most six of them:
  // [a, b, c, ..., x, y, z].
  static std::string values_text(const std::vector<T>& values, bool scalar,
                                 int digits) {
    if (scalar) return values.empty() ? "?" : number(values[0], digits);
    constexpr std::size_t edge = 3;
    std::vector<std::string> items;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values.size() > 2 * edge && i == edge) {
        items.push_back("...");
        i = values.size() - edge;
      }
      items.push_back(number(values[i], digits));
    }
    return fmt::format("[{}]", fmt::join(items, ", "));
  }

  // The node's label, or "n" and its number. A label is cut to
  // max_label_length bytes, and its line breaks become spaces so that a
  // trace row stays on one line.
  std::string name(std::size_t id) const {
    const std::string& label = nodes_[id].label;
    if (label.empty()) return fmt::format("n{}", id);
    std::string text = label.substr(0, max_label_length);
    if (label.size() > max_label_length) text += "...";
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
  }

  // The operation, with the shape of a tensor node.
  static std::string operation_text(const Node& node) {
    if (!node.tensor) return node.operation;
    return fmt::format("{} {}", node.operation, node.shape);
  }

  // The contents of a DOT string that Graphviz shows as `text`. Graphviz
  // reads "\n" as a line break and "&...;" as an HTML entity, so
  // backslashes, quotes and ampersands are escaped. Other control
  // characters, which DOT strings cannot contain, become spaces.
  static std::string dot_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '&') {
        out += "&amp;";
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string write_dot(std::size_t root, int digits) const;

  static bool is_scalar(const Node& node) { return !node.tensor; }

  Tape<T>* tape_;
  std::thread::id owner_;
  std::uint32_t epoch_ = 0;
  std::vector<Node> nodes_;
  std::vector<std::size_t> scalar_ids_;  // by tape node index
  std::unordered_map<const void*, std::size_t> tensor_ids_;  // by state
  // Labels of parameters by parameter_id(). The handles keep each labelled
  // parameter alive, so that no other parameter can reuse its address.
  std::unordered_map<const void*, std::string> parameter_labels_;
  std::vector<Var<T>> labelled_vars_;
  std::vector<Tensor<T>> labelled_tensors_;
  std::vector<std::size_t> sweep_;  // nodes in the order the sweep reached them
  std::size_t root_ = none;
  bool swept_ = false;
};

template <class T>
std::string GraphRecorder<T>::write_dot(std::size_t root, int digits) const {
  const std::vector<bool> marked = ancestors(root);
  // The adjoints are those of the last sweep, so they are the gradient of
  // `root` only when that sweep started from it.
  const bool swept_root = swept_ && root == root_;
  std::string out =
      "digraph adjoint {\n"
      "  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (std::size_t id = 0; id < nodes_.size(); ++id) {
    if (!marked[id]) continue;
    const Node& node = nodes_[id];
    std::string text =
        fmt::format("{}\n{}\nvalue {}", name(id), operation_text(node),
                    values_text(node.value, is_scalar(node), digits));
    const std::vector<T>& grad =
        node.kind == Kind::parameter ? node.grad : node.adjoint;
    if (swept_root && !grad.empty()) {
      text +=
          fmt::format("\ngrad {}", values_text(grad, is_scalar(node), digits));
    }
    std::string style;
    if (node.kind == Kind::parameter) {
      style = ", style=filled, fillcolor=\"#dbe8f5\"";
    } else if (id == root) {
      style = ", penwidth=2";
    }
    out +=
        fmt::format("  n{} [label=\"{}\"{}];\n", id, dot_escape(text), style);
  }
  for (std::size_t id = 0; id < nodes_.size(); ++id) {
    if (!marked[id]) continue;
    for (const Input& input : nodes_[id].inputs) {
      if (input.partial) {
        out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", input.node, id,
                           number(*input.partial, digits));
      } else {
        out += fmt::format("  n{} -> n{};\n", input.node, id);
      }
    }
  }
  out += "}\n";
  return out;
}

template <class T>
std::string GraphRecorder<T>::backprop_trace(int digits) const {
  check_digits(digits, "backprop_trace");
  if (!swept_ || root_ == none) {
    throw graph_error(
        "GraphRecorder::backprop_trace: no backward() ran while this "
        "recorder was recording; call backward() on the loss first");
  }
  const std::vector<bool> marked = ancestors(root_);
  struct Row {
    std::string step, node, operation, value, adjoint;
    std::vector<std::string> details;
  };
  std::vector<Row> rows;
  for (std::size_t id : sweep_) {
    if (!marked[id]) continue;
    const Node& node = nodes_[id];
    const bool scalar = is_scalar(node);
    Row row{fmt::format("{}", rows.size() + 1),
            name(id),
            operation_text(node),
            values_text(node.value, scalar, digits),
            values_text(node.adjoint, scalar, digits),
            {}};
    if (node.kind == Kind::scalar && node.adjoint[0] == T(0)) {
      // As the sweep does: nothing to add, not even 0 * inf.
      row.details.push_back("adds nothing, since its adjoint is 0");
    } else if (node.kind == Kind::scalar) {
      for (const Input& input : node.inputs) {
        const T added = node.adjoint[0] * *input.partial;
        // A negative factor goes in parentheses: "0.8 * (-1)".
        std::string factor = number(*input.partial, digits);
        if (factor.starts_with('-')) factor = "(" + factor + ")";
        row.details.push_back(fmt::format("{} += {} * {} = {}",
                                          name(input.node), row.adjoint, factor,
                                          number(added, digits)));
      }
    } else if (node.kind == Kind::parameter) {
      row.details.push_back(
          fmt::format("the gradient of {} grows by {}", name(id), row.adjoint));
    } else if (!node.inputs.empty()) {
      std::vector<std::string> targets;
      for (const Input& input : node.inputs) {
        targets.push_back(name(input.node));
      }
      row.details.push_back(fmt::format("the rule of {} adds to {}",
                                        node.operation,
                                        fmt::join(targets, ", ")));
    }
    rows.push_back(std::move(row));
  }
  std::size_t widths[5] = {4, 4, 9, 5, 7};
  for (const Row& row : rows) {
    const std::string* cells[] = {&row.step, &row.node, &row.operation,
                                  &row.value, &row.adjoint};
    for (std::size_t c = 0; c < 5; ++c) {
      widths[c] = std::max(widths[c], cells[c]->size());
    }
  }
  std::string out = fmt::format(
      "Backward sweep from {} ({}), seeded with adjoint 1. The sweep reaches\n"
      "each node after every node that uses it, so its adjoint is complete "
      "then;\nit adds adjoint * local derivative to the adjoint of each "
      "input.\n\n",
      name(root_), nodes_[root_].operation);
  out += fmt::format("{:>{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", "step",
                     widths[0], "node", widths[1], "operation", widths[2],
                     "value", widths[3], "adjoint", widths[4]);
  const std::size_t indent = widths[0] + widths[1] + 4;
  for (const Row& row : rows) {
    out += fmt::format("{:>{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", row.step,
                       widths[0], row.node, widths[1], row.operation, widths[2],
                       row.value, widths[3], row.adjoint, widths[4]);
    for (const std::string& detail : row.details) {
      out += fmt::format("{:{}}{}\n", "", indent, detail);
    }
  }
  out += "\nGradients of the parameters:\n";
  for (std::size_t id = 0; id < nodes_.size(); ++id) {
    const Node& node = nodes_[id];
    if (!marked[id] || node.kind != Kind::parameter) continue;
    out += fmt::format("  {} = {}\n", name(id),
                       values_text(node.grad, is_scalar(node), digits));
  }
  return out;
}

}  // namespace adjoint
