#pragma once

// Reads the CSV data of the linear regression example and standardises its
// features.

#include <cmath>
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/csv.hpp"

namespace linear_regression {

using examples::input_error;

/// The rows of a CSV file, split into the target column and the features,
/// which are every other column.
struct Dataset {
  std::string path;
  std::string header_where;           // "file:line" of the header line
  std::vector<std::string> features;  // feature names, in file order
  std::string target;
  std::vector<double> x;               // rows() x features.size(), row-major
  std::vector<double> z;               // the target, one value per row
  std::vector<std::string> row_where;  // "file:line" of each row

  std::size_t rows() const { return z.size(); }
};

/// The name of the intercept in the printed and written model. No feature
/// may have it.
inline constexpr const char* bias_name = "bias";

/// Raises input_error for a header with an empty or repeated column name,
/// without a feature column, or with a feature named "bias".
inline void check_header(const std::vector<std::string>& header,
                         const Dataset& data, const std::string& where) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) {
      throw input_error(fmt::format(
          "{}: column {} of the header has no name; name every column", where,
          i + 1));
    }
    if (!seen.insert(header[i]).second) {
      throw input_error(fmt::format(
          "{}: column \"{}\" appears twice in the header", where, header[i]));
    }
  }
  if (data.features.empty()) {
    throw input_error(fmt::format(
        "{}: the header names only the target column {}; a linear model "
        "needs at least one feature column",
        where, data.target));
  }
  for (const std::string& feature : data.features) {
    if (feature != bias_name) continue;
    throw input_error(fmt::format(
        "{}: feature column \"{}\" has the name of the model's intercept in "
        "the output; rename the column",
        where, feature));
  }
}

/// Reads the CSV file at `path`, whose column `target` contains the target and
/// every other column a feature. Raises input_error for the problems that
/// examples::read_csv() and check_header() find, for a missing target
/// column, a field that is not a finite number, and fewer rows than the
/// model has parameters.
inline Dataset read_dataset(const std::string& path,
                            const std::string& target) {
  Dataset data;
  data.path = path;
  data.target = target;
  std::size_t target_index = 0;
  std::vector<std::string> header;
  const auto on_header = [&](const std::vector<std::string>& fields,
                             const std::string& where) {
    header = fields;
    data.header_where = where;
    target_index = examples::find_column(
        header, target, where, "name the target column with --target");
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (i != target_index) data.features.push_back(header[i]);
    }
    check_header(header, data, where);
  };
  const auto on_row = [&](const std::vector<std::string>& fields,
                          const std::string& where) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const double value = examples::parse_number(fields[i], header[i], where);
      if (i == target_index) {
        data.z.push_back(value);
      } else {
        data.x.push_back(value);
      }
    }
    data.row_where.push_back(where);
  };
  examples::read_csv(
      path,
      fmt::format("naming the target column {} and the feature columns",
                  target),
      on_header, on_row);

  // With n rows, the centred features span at most n - 1 dimensions, so p
  // weights have a unique least-squares value only if n >= p + 1.
  const std::size_t needed = data.features.size() + 1;
  if (data.rows() < needed) {
    throw input_error(fmt::format(
        "{}: the file ends after {} data row{}, but fitting {} weight{} and a "
        "bias needs at least {} rows",
        data.row_where.back(), data.rows(), data.rows() == 1 ? "" : "s",
        data.features.size(), data.features.size() == 1 ? "" : "s", needed));
  }
  return data;
}

/// The features scaled to mean 0 and standard deviation 1, and the mean and
/// standard deviation of each feature that undo the scaling. The standard
/// deviation divides by the number of rows, not by one less.
struct Standardised {
  std::vector<double> mean;
  std::vector<double> sd;
  std::vector<double> x;  // same layout as Dataset::x
};

/// Standardises every feature of `data`. Raises input_error for a constant
/// feature, which has no standard deviation to divide by and would
/// duplicate the bias, and for one whose mean or standard deviation is not
/// a finite positive double.
inline Standardised standardise(const Dataset& data) {
  const std::size_t n = data.rows();
  const std::size_t p = data.features.size();
  Standardised result;
  result.x.resize(data.x.size());
  for (std::size_t j = 0; j < p; ++j) {
    const auto value = [&](std::size_t i) { return data.x[i * p + j]; };
    const std::string& name = data.features[j];
    bool constant = true;
    for (std::size_t i = 1; i < n && constant; ++i) {
      constant = value(i) == value(0);
    }
    if (constant) {
      throw input_error(fmt::format(
          "{}: feature column \"{}\" is constant (every row has {}), so it "
          "cannot be standardised and would duplicate the bias; remove the "
          "column",
          data.header_where, name, value(0)));
    }
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += value(i);
    const double mean = sum / static_cast<double>(n);
    double squares = 0;
    for (std::size_t i = 0; i < n; ++i) {
      squares += (value(i) - mean) * (value(i) - mean);
    }
    const double sd = std::sqrt(squares / static_cast<double>(n));
    if (!std::isfinite(mean) || !std::isfinite(sd) || sd == 0) {
      throw input_error(fmt::format(
          "{}: feature column \"{}\" cannot be standardised in double "
          "precision (mean {}, standard deviation {}); rescale the column",
          data.header_where, name, mean, sd));
    }
    result.mean.push_back(mean);
    result.sd.push_back(sd);
    for (std::size_t i = 0; i < n; ++i) {
      result.x[i * p + j] = (value(i) - mean) / sd;
    }
  }
  return result;
}

/// Returns the correlation matrix R = X^T X / n (p x p, row-major) of the
/// standardised features `x`, n rows of p values.
inline std::vector<double> correlation_matrix(const std::vector<double>& x,
                                              std::size_t p) {
  const std::size_t n = x.size() / p;
  std::vector<double> r(p * p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < p; ++j) {
      for (std::size_t k = 0; k < p; ++k) {
        r[j * p + k] += x[i * p + j] * x[i * p + k];
      }
    }
  }
  for (double& entry : r) entry /= static_cast<double>(n);
  return r;
}

/// Raises input_error if a feature is a linear combination of the features
/// before it, up to 1e-10 of its variance. Then the least-squares weights are
/// not unique, and the loss is flat along a direction that gradient descent
/// never moves in.
///
/// A Cholesky factorisation R = L L^T finds it: L_jj^2 is 1 - R_j^2, where
/// R_j^2 is the coefficient of determination of feature j regressed on the
/// features before it.
inline void check_independent_features(const Dataset& data,
                                       const std::vector<double>& r) {
  const std::size_t p = data.features.size();
  // A feature that shares all but 1e-10 of its variance with the others
  // makes the condition number of R exceed 1e10. Gradient descent would
  // need that many steps, and rounding already distorts such a fit.
  constexpr double min_unexplained_variance = 1e-10;
  std::vector<double> l(p * p, 0.0);
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t k = 0; k <= j; ++k) {
      double entry = r[j * p + k];
      for (std::size_t m = 0; m < k; ++m) entry -= l[j * p + m] * l[k * p + m];
      if (k < j) {
        l[j * p + k] = entry / l[k * p + k];
        continue;
      }
      if (!(entry > min_unexplained_variance)) {
        const std::vector<std::string> before(data.features.begin(),
                                              data.features.begin() + j);
        throw input_error(fmt::format(
            "{}: feature column \"{}\" is a linear combination of the "
            "feature columns before it ({}), to within {:g} of its variance, "
            "so the least-squares weights are not unique; remove the column",
            data.header_where, data.features[j], fmt::join(before, ", "),
            min_unexplained_variance));
      }
      l[j * p + j] = std::sqrt(entry);
    }
  }
}

/// Returns the largest eigenvalue of the correlation matrix `r` (p x p) by
/// power iteration from a random start.
///
/// The Hessian of the mean squared error is 2 R for the weights and 2 for
/// the bias, and R's largest eigenvalue is at least 1 because its trace is
/// p. So gradient descent on that loss converges exactly for
/// 0 < lr < 1 / (the returned value).
///
/// NOTE: The estimate approaches the eigenvalue from below. It may stop
/// short after 1000 iterations, but only when the two largest eigenvalues
/// are within about 1.5% of each other, and then by less than their gap.
inline double largest_eigenvalue(const std::vector<double>& r, std::size_t p) {
  // A fixed seed keeps the output reproducible. A random start is almost
  // surely not orthogonal to the leading eigenvector, which a start such as
  // (1, ..., 1) is for two negatively correlated features.
  std::mt19937_64 engine(1);
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  std::vector<double> v(p);
  for (double& component : v) component = uniform(engine);
  std::vector<double> product(p);
  double eigenvalue = 0;
  for (int iteration = 0; iteration < 1000; ++iteration) {
    double norm = 0;
    for (const double component : v) norm += component * component;
    norm = std::sqrt(norm);
    for (double& component : v) component /= norm;
    double rayleigh = 0;  // v^T R v, with |v| = 1
    for (std::size_t j = 0; j < p; ++j) {
      product[j] = 0;
      for (std::size_t k = 0; k < p; ++k) product[j] += r[j * p + k] * v[k];
      rayleigh += v[j] * product[j];
    }
    const bool settled = std::abs(rayleigh - eigenvalue) <= 1e-12 * rayleigh;
    eigenvalue = rayleigh;
    if (settled) break;
    v = product;
  }
  return eigenvalue;
}

}  // namespace linear_regression
