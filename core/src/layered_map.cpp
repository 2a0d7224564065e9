#include "replicore/layered_map.h"

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

void Layer::absorb(Layer&& upper) {
  if (upper.hidesBelow || writes.empty()) {
    hidesBelow = hidesBelow || upper.hidesBelow;
    writes = std::move(upper.writes);
    upper.writes.clear();
    return;
  }
  while (!upper.writes.empty()) {
    auto node = upper.writes.extract(upper.writes.begin());
    auto result = writes.insert(std::move(node));
    if (!result.inserted) result.position->second = std::move(result.node.mapped());
  }
}

void applyLayer(BaseMap& base, Layer&& layer) noexcept {
  if (layer.hidesBelow) base.clear();
  layer.hidesBelow = false;
  while (!layer.writes.empty()) {
    auto node = layer.writes.extract(layer.writes.begin());
    if (node.mapped()) {
      auto result = base.insert(std::move(node));
      if (!result.inserted) result.position->second = std::move(result.node.mapped());
    } else {
      auto it = base.find(node.key());
      if (it != base.end()) base.erase(it);
    }
  }
}

ValuePtr LayeredView::get(std::string_view key) const {
  // The topmost layer that mentions the key decides; a layer that hides what
  // is below ends the search.
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    const Layer* layer = *it;
    auto found = layer->writes.find(key);
    if (found != layer->writes.end()) return found->second;
    if (layer->hidesBelow) return nullptr;
  }
  if (!base_) return nullptr;
  auto found = base_->find(key);
  return found == base_->end() ? nullptr : found->second;
}

bool LayeredView::empty() const {
  bool any = false;
  scan(ScanOptions{}, [&](const std::string&, const ValuePtr&) {
    any = true;
    return false;
  });
  return !any;
}

namespace {

bool hasPrefix(const std::string& key, const std::string& prefix) {
  return key.size() >= prefix.size() && key.compare(0, prefix.size(), prefix) == 0;
}

// A cursor over one source (the base or a layer) for the merged scan.
struct Cursor {
  using LayerIt = std::map<std::string, ValuePtr, std::less<>>::const_iterator;
  using BaseIt = BaseMap::const_iterator;
  // Exactly one of the two pairs is used; base and layers have the same
  // map type, so one iterator type serves both.
  LayerIt it, end;
};

}  // namespace

size_t LayeredView::scan(const ScanOptions& options,
                         const std::function<bool(const std::string&, const ValuePtr&)>& visit) const {
  if (options.limit && *options.limit == 0) return 0;
  // Where to begin: the later of the prefix and the start key.
  std::string from = options.prefix;
  if (options.startKey && *options.startKey > from) from = *options.startKey;

  // Only the layers above the topmost hiding layer matter, and the base only
  // when no layer hides it. Cursors are ordered bottom to top, so that when
  // several sources hold a key the last one wins.
  size_t firstLayer = 0;
  bool useBase = base_ != nullptr;
  for (size_t i = layers_.size(); i-- > 0;) {
    if (layers_[i]->hidesBelow) {
      firstLayer = i;
      useBase = false;
      break;
    }
  }
  std::vector<Cursor> cursors;
  cursors.reserve(layers_.size() - firstLayer + 1);
  if (useBase) cursors.push_back({base_->lower_bound(from), base_->end()});
  for (size_t i = firstLayer; i < layers_.size(); ++i) {
    const auto& writes = layers_[i]->writes;
    cursors.push_back({writes.lower_bound(from), writes.end()});
  }

  size_t visited = 0;
  // The common case is a single source (no pending writes): walk it directly.
  if (cursors.size() == 1) {
    Cursor& c = cursors[0];
    for (; c.it != c.end; ++c.it) {
      const std::string& key = c.it->first;
      if (!hasPrefix(key, options.prefix)) break;
      if (options.startExclusive && options.startKey && key == *options.startKey) continue;
      if (!c.it->second) continue;  // tombstone
      ++visited;
      if (!visit(key, c.it->second)) break;
      if (options.limit && visited >= *options.limit) break;
    }
    return visited;
  }

  while (true) {
    // The smallest current key among the cursors.
    const std::string* smallest = nullptr;
    for (const Cursor& c : cursors) {
      if (c.it != c.end && (!smallest || c.it->first < *smallest)) smallest = &c.it->first;
    }
    if (!smallest) break;
    if (!hasPrefix(*smallest, options.prefix)) break;
    std::string key = *smallest;
    ValuePtr value;
    for (Cursor& c : cursors) {
      if (c.it != c.end && c.it->first == key) {
        value = c.it->second;  // later (upper) sources overwrite
        ++c.it;
      }
    }
    if (options.startExclusive && options.startKey && key == *options.startKey) continue;
    if (!value) continue;
    ++visited;
    if (!visit(key, value)) break;
    if (options.limit && visited >= *options.limit) break;
  }
  return visited;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
