// See js_value_host.h.
#include "js_value_host.h"

#include <emscripten/val.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

std::string JsValueHost::textOf(uint64_t id) { return host_->call<std::string>("valueText", double(id)); }

std::vector<char> JsValueHost::equal(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) {
  std::vector<double> ids;
  ids.reserve(pairs.size() * 2);
  for (const auto& [a, b] : pairs) {
    ids.push_back(double(a));
    ids.push_back(double(b));
  }
  std::vector<char> out(pairs.size(), 0);
  host_->call<void>("valuesEqual", reinterpret_cast<uintptr_t>(ids.data()), pairs.size(),
                    reinterpret_cast<uintptr_t>(out.data()));
  return out;
}

bool JsValueHost::indexKeys(uint64_t id, size_t index, std::vector<std::string>* out) {
  auto it = indexKeys_.find(id);
  if (it == indexKeys_.end()) return false;
  std::string_view text = it->second;
  size_t at = 0;
  for (size_t i = 0; i <= index; ++i) {
    size_t nul = text.find('\0', at);
    if (nul == std::string_view::npos) return false;
    size_t count = size_t(std::strtoul(std::string(text.substr(at, nul - at)).c_str(), nullptr, 10));
    at = nul + 1;
    for (size_t k = 0; k < count; ++k) {
      size_t end = text.find('\0', at);
      if (end == std::string_view::npos) return false;
      if (i == index) out->emplace_back(text.substr(at, end - at));
      at = end + 1;
    }
  }
  return true;
}

void JsValueHost::takeStaged(std::string staged, size_t indexes, const std::vector<uint64_t>& ids) {
  size_t at = 0;
  for (uint64_t id : ids) {
    size_t start = at;
    for (size_t i = 0; i < indexes && at < staged.size(); ++i) {
      size_t nul = staged.find('\0', at);
      if (nul == std::string::npos) return;
      size_t count = size_t(std::strtoul(staged.c_str() + at, nullptr, 10));
      at = nul + 1;
      for (size_t k = 0; k < count && at <= staged.size(); ++k) {
        size_t end = staged.find('\0', at);
        if (end == std::string::npos) return;
        at = end + 1;
      }
    }
    if (at > start) indexKeys_[id] = staged.substr(start, at - start);
  }
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
