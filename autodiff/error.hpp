#pragma once

#include <stdexcept>

namespace adjoint {

/// Error raised when a graph is used in a state that does not allow the
/// request: a released graph, a constant passed to backward(), a tape that is
/// full.
class graph_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace adjoint
