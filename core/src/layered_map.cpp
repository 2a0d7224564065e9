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

Unloaded::Ranges::const_iterator Unloaded::from(std::string_view key) const {
  auto it = ranges.upper_bound(key);
  if (it != ranges.begin()) {
    auto before = std::prev(it);
    if (!before->second.end || key < *before->second.end) return before;
  }
  return it;
}

const Unloaded::Range* Unloaded::holding(std::string_view key) const {
  auto it = from(key);
  return it != ranges.end() && it->first <= key ? &it->second : nullptr;
}

ValuePtr LayeredView::get(std::string_view key) const {
  missed_.reset();
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
  if (found != base_->end()) return found->second;
  if (unloaded_) {
    if (const Unloaded::Range* range = unloaded_->holding(key)) missed_ = range->page;
  }
  return nullptr;
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
  missed_.reset();
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
  // The next unloaded range at or after `from`. Keys ascend as the scan
  // goes, so it stays the next one until a key at or past its start comes
  // up: then entries of that range might come before that key, and the
  // scan stops there (missed). It never has to advance.
  Unloaded::Ranges::const_iterator hole;
  const bool holes = useBase && unloaded_;
  if (holes) hole = unloaded_->from(from);
  auto stopsAt = [&](const std::string& key) {
    if (!holes || hole == unloaded_->ranges.end() || hole->first > key) return false;
    missed_ = hole->second.page;
    return true;
  };
  // The scan ran out of keys, or reached `end` (a key past the prefix, or
  // nullptr): an unloaded range before that end may still hold some.
  auto missedAtEnd = [&](const std::string* end) {
    if (!holes || hole == unloaded_->ranges.end()) return;
    const std::string& first = hole->first;
    if (end && first >= *end) return;
    if (hasPrefix(first, options.prefix) || (first <= from && hasPrefix(from, options.prefix))) {
      missed_ = hole->second.page;
    }
  };

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
    for (;; ++c.it) {
      if (c.it == c.end) {
        missedAtEnd(nullptr);
        break;
      }
      const std::string& key = c.it->first;
      if (!hasPrefix(key, options.prefix)) {
        missedAtEnd(&key);
        break;
      }
      if (stopsAt(key)) break;
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
    if (!smallest || !hasPrefix(*smallest, options.prefix)) {
      missedAtEnd(smallest);
      break;
    }
    if (stopsAt(*smallest)) break;
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
