// Small helpers shared by the tests.
#ifndef REPLICORE_TESTS_TEST_UTIL_H_
#define REPLICORE_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

#include "replicore/layered_map.h"
#include "replicore/transaction.h"
#include "replicore/value.h"

namespace replicore::testing {

inline ValuePtr V(Json j) { return Value::make(std::move(j)); }

inline ScanOptions Prefix(std::string prefix) {
  ScanOptions o;
  o.prefix = std::move(prefix);
  return o;
}

// Keys a view shows for `options`, in the order it visits them.
inline std::vector<std::string> KeysOf(const LayeredView& view, const ScanOptions& options = {}) {
  std::vector<std::string> keys;
  view.scan(options, [&](const std::string& k, const ValuePtr& v) {
    keys.push_back(k);
    return v != nullptr;
  });
  return keys;
}

// The whole visible state of a read transaction as [[key, value], ...].
inline Json EntriesOf(ReadTransaction& tx) { return tx.scanEntries(ScanOptions{}); }

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_TEST_UTIL_H_
