#include "replicore/index.h"

#include <algorithm>

#include "json_scanner.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// Values reach the index already validated; this only bounds the scanner.
constexpr int kMaxDepth = 4096;

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Sorts `items` by `less`, stably. One sort for every list of this file
// (the secondary keys of a value, the index changes of a commit): std::sort
// instantiated for strings and for IndexChange was 13 KB of the
// WebAssembly package (2.7 KB brotli). A bottom-up merge sort of the items'
// addresses, then one move of each item into place. The comparisons are of
// strings and dominate: a merge sort makes fewer of them than std::sort, and
// input already in order (one key; changes of keys made in order) costs one
// pass.
template <typename T>
void sortItems(std::vector<T>* items, bool (*less)(const T&, const T&)) {
  size_t n = items->size();
  size_t sorted = 1;
  while (sorted < n && !less((*items)[sorted], (*items)[sorted - 1])) ++sorted;
  if (sorted >= n) return;
  std::vector<T*> a(n), b(n);
  for (size_t i = 0; i < n; ++i) a[i] = &(*items)[i];
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) b[k++] = less(*a[j], *a[i]) ? a[j++] : a[i++];
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    a.swap(b);
  }
  std::vector<T> out;
  out.reserve(n);
  for (T* item : a) out.push_back(std::move(*item));
  items->swap(out);
}

bool stringLess(const std::string& a, const std::string& b) { return a < b; }

// Replicache splits the pointer at '/' and then replaces "~1" by '/' and
// "~0" by '~', in that order, all occurrences each.
std::string unescapeToken(std::string_view token) {
  std::string once;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && token[i + 1] == '1') {
      once += '/';
      ++i;
    } else {
      once += token[i];
    }
  }
  std::string out;
  for (size_t i = 0; i < once.size(); ++i) {
    if (once[i] == '~' && i + 1 < once.size() && once[i + 1] == '0') {
      out += '~';
      ++i;
    } else {
      out += once[i];
    }
  }
  return out;
}

// The array position a token names, as Replicache's parseIndex reads it
// (JavaScript's parseInt after refusing "+..." and "0..."): leading
// whitespace, an optional sign, then the leading digits; nullopt when
// there are none or the number is negative (no element there).
std::optional<size_t> arrayPosition(const std::string& token) {
  if (token.empty() || token[0] == '+' || (token[0] == '0' && token.size() != 1)) return std::nullopt;
  size_t i = 0;
  while (i < token.size() && (token[i] == ' ' || (token[i] >= '\t' && token[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < token.size() && (token[i] == '-' || token[i] == '+')) negative = token[i++] == '-';
  size_t start = i;
  size_t n = 0;
  // Past any array's length, and small enough that n * 10 fits 32 bits.
  constexpr size_t kBeyond = size_t(1) << 28;
  for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
    n = n >= kBeyond ? kBeyond : n * 10 + size_t(token[i] - '0');
  }
  if (i == start) return std::nullopt;
  if (negative && n != 0) return std::nullopt;  // -0 is element 0
  return n;
}

// The member `name` of the object at the scanner (the last one, as
// JSON.parse keeps), or nullopt.
std::optional<std::string_view> member(std::string_view object, const std::string& name) {
  detail::JsonScanner s(object, kMaxDepth);
  if (!s.expect('{')) return std::nullopt;
  std::optional<std::string_view> found;
  if (s.peek() == '}') return found;
  std::string key;
  while (true) {
    key.clear();
    std::string_view value;
    if (!s.readString(&key) || !s.expect(':') || !s.skipValue(1, &value)) return std::nullopt;
    if (key == name) found = value;
    if (s.peek() != ',') break;
    s.expect(',');
  }
  return found;
}

std::optional<std::string_view> element(std::string_view array, size_t position) {
  detail::JsonScanner s(array, kMaxDepth);
  if (!s.expect('[')) return std::nullopt;
  if (s.peek() == ']') return std::nullopt;
  for (size_t i = 0;; ++i) {
    std::string_view value;
    if (!s.skipValue(1, &value)) return std::nullopt;
    if (i == position) return value;
    if (s.peek() != ',') return std::nullopt;
    s.expect(',');
  }
}

char firstChar(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
  }
  return '\0';
}

// Appends the string `text` (a JSON string literal) spells, unless it holds
// a NUL (which no secondary key may: Replicache refuses the whole value).
bool appendString(std::string_view text, std::vector<std::string>* out) {
  detail::JsonScanner s(text, kMaxDepth);
  std::string decoded;
  if (!s.readString(&decoded) || decoded.find('\0') != std::string::npos) return false;
  out->push_back(std::move(decoded));
  return true;
}

}  // namespace

std::vector<std::string> secondaryKeysOf(std::string_view value, std::string_view jsonPointer) {
  std::vector<std::string> keys;
  if (!jsonPointer.empty() && jsonPointer[0] != '/') return keys;  // an invalid pointer finds nothing
  std::string_view target = value;
  size_t at = 0;
  while (at < jsonPointer.size()) {
    size_t end = jsonPointer.find('/', at + 1);
    if (end == std::string_view::npos) end = jsonPointer.size();
    std::string token = unescapeToken(jsonPointer.substr(at + 1, end - at - 1));
    at = end;
    std::optional<std::string_view> next;
    char c = firstChar(target);
    if (c == '[') {
      if (std::optional<size_t> position = arrayPosition(token)) next = element(target, *position);
    } else if (c == '{') {
      next = member(target, token);
    }
    // null and every other kind of value have no members.
    if (!next) return keys;
    target = *next;
  }
  char c = firstChar(target);
  if (c == '"') {
    appendString(target, &keys);
  } else if (c == '[') {
    detail::JsonScanner s(target, kMaxDepth);
    s.expect('[');
    if (s.peek() != ']') {
      while (true) {
        std::string_view item;
        if (s.peek() != '"' || !s.skipValue(1, &item) || !appendString(item, &keys)) {
          keys.clear();  // one non-string element: the value is not indexed
          return keys;
        }
        if (s.peek() != ',') break;
        s.expect(',');
      }
    }
    sortItems(&keys, stringLess);
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  return keys;
}

std::optional<size_t> IndexSet::find(std::string_view name) const {
  for (size_t i = 0; i < definitions_.size(); ++i) {
    if (definitions_[i].name == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> IndexSet::keysOf(size_t index, std::string_view primary, const ValuePtr& value) const {
  std::vector<std::string> keys;
  const IndexDefinition& def = definitions_[index];
  if (!value || !startsWith(primary, def.prefix)) return keys;
  if (ValueHost* host = value->host()) {
    if (host->indexKeys(value->id(), index, &keys)) {
      sortItems(&keys, stringLess);
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      return keys;
    }
    keys.clear();
  }
  return secondaryKeysOf(value->text(), def.jsonPointer);
}

void IndexSet::write(IndexMaps* maps, const std::string& key, const ValuePtr& oldValue, const ValuePtr& newValue) const {
  if (maps->byIndex.size() < size()) maps->byIndex.resize(size());
  for (size_t i = 0; i < size(); ++i) {
    IndexEntries& entries = maps->byIndex[i];
    if (oldValue) {
      for (std::string& s : keysOf(i, key, oldValue)) entries.erase(IndexKey{std::move(s), key});
    }
    if (newValue) {
      for (std::string& s : keysOf(i, key, newValue)) entries.insert_or_assign(IndexKey{std::move(s), key}, newValue);
    }
  }
}

void IndexSet::addAll(IndexMaps* maps, const BaseMap& entries) const {
  if (maps->byIndex.size() < size()) maps->byIndex.resize(size());
  for (size_t i = 0; i < size(); ++i) {
    IndexEntries& index = maps->byIndex[i];
    const std::string& prefix = definitions_[i].prefix;
    for (auto it = entries.lower_bound(prefix); it != entries.end() && startsWith(it->first, prefix); ++it) {
      if (!it->second) continue;
      for (std::string& s : keysOf(i, it->first, it->second)) {
        index.insert_or_assign(IndexKey{std::move(s), it->first}, it->second);
      }
    }
  }
}

IndexErasePlan IndexSet::plan(const std::map<std::string, ValuePtr, std::less<>>& lowerValues, const Layer& upper) const {
  IndexErasePlan plan;
  // Hiding everything below: install clears the lower maps whole.
  if (upper.hidesBelow) return plan;
  plan.byIndex.resize(size());
  for (const auto& [key, value] : upper.writes) {
    auto old = lowerValues.find(key);
    if (old == lowerValues.end() || !old->second) continue;
    for (size_t i = 0; i < size(); ++i) {
      for (std::string& s : keysOf(i, key, old->second)) plan.byIndex[i].push_back(IndexKey{std::move(s), key});
    }
  }
  return plan;
}

void IndexSet::install(IndexMaps* lowerMaps, IndexErasePlan&& plan, IndexMaps&& upperMaps,
                       bool upperHidesBelow) const noexcept {
  if (upperHidesBelow) {
    for (IndexEntries& e : lowerMaps->byIndex) e.clear();
  } else {
    for (size_t i = 0; i < plan.byIndex.size() && i < lowerMaps->byIndex.size(); ++i) {
      for (const IndexKey& k : plan.byIndex[i]) lowerMaps->byIndex[i].erase(k);
    }
  }
  if (lowerMaps->byIndex.empty()) {
    // Nothing below yet: take the upper maps whole (no allocation).
    lowerMaps->byIndex.swap(upperMaps.byIndex);
    upperMaps.byIndex.clear();
    return;
  }
  for (size_t i = 0; i < upperMaps.byIndex.size() && i < lowerMaps->byIndex.size(); ++i) {
    IndexEntries& from = upperMaps.byIndex[i];
    IndexEntries& to = lowerMaps->byIndex[i];
    while (!from.empty()) {
      auto node = from.extract(from.begin());
      auto result = to.insert(std::move(node));
      if (!result.inserted) result.position->second = std::move(result.node.mapped());
    }
  }
}

void IndexSet::addChanges(size_t index, const std::string& key, const ValuePtr& oldValue, const ValuePtr& newValue,
                          std::vector<IndexChange>* out) const {
  if (!startsWith(key, definitions_[index].prefix)) return;
  std::vector<std::string> before = keysOf(index, key, oldValue);
  std::vector<std::string> after = keysOf(index, key, newValue);
  // Both sorted: one merge walk.
  size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && before[i] < after[j])) {
      out->push_back({IndexKey{std::move(before[i++]), key}, oldValue, nullptr});
    } else if (i == before.size() || after[j] < before[i]) {
      out->push_back({IndexKey{std::move(after[j++]), key}, nullptr, newValue});
    } else {
      out->push_back({IndexKey{std::move(after[j++]), key}, oldValue, newValue});
      ++i;
    }
  }
}

void IndexSet::sortChanges(std::vector<IndexChange>* changes) {
  sortItems<IndexChange>(changes, [](const IndexChange& a, const IndexChange& b) { return a.key < b.key; });
}

namespace {

struct IndexCursor {
  IndexEntries::const_iterator it, end;
  size_t level;  // 0: the base; i + 1: layer i
};

}  // namespace

size_t IndexedView::scan(size_t index, const IndexScanOptions& options,
                         const std::function<bool(const IndexKey&, const ValuePtr&)>& visit) const {
  missed_.reset();
  if (!set_ || index >= set_->size()) return 0;
  if (options.limit && *options.limit == 0) return 0;

  size_t firstLayer = 0;
  bool useBase = true;
  for (size_t i = layers_.size(); i-- > 0;) {
    if (layers_[i].layer->hidesBelow) {
      firstLayer = i;
      useBase = false;
      break;
    }
  }
  if (useBase && unloaded_ && !unloaded_->empty()) {
    // Entries of any unloaded range may sort anywhere in an index.
    missed_ = unloaded_->ranges.begin()->second.page;
    return 0;
  }

  IndexKey from{options.prefix, std::string()};
  if (options.startSecondary) {
    IndexKey start{*options.startSecondary, options.startPrimary.value_or(std::string())};
    if (from < start) from = std::move(start);
  }
  std::vector<IndexCursor> cursors;
  auto add = [&](const IndexMaps* maps, size_t level) {
    const IndexEntries* e = maps ? maps->of(index) : nullptr;
    if (e && !e->empty()) cursors.push_back({e->lower_bound(from), e->end(), level});
  };
  if (useBase) add(base_, 0);
  for (size_t i = firstLayer; i < layers_.size(); ++i) add(layers_[i].maps, i + 1);
  // An entry from `level` is hidden when a layer above it (layers_[i] is
  // level i + 1) writes its key.
  auto hidden = [&](const std::string& primary, size_t level) {
    for (size_t i = std::max(level, firstLayer); i < layers_.size(); ++i) {
      const auto& writes = layers_[i].layer->writes;
      if (!writes.empty() && writes.count(primary)) return true;
    }
    return false;
  };
  const bool exclusive = options.startExclusive && options.startSecondary;
  auto isStart = [&](const IndexKey& k) {
    return k.secondary == *options.startSecondary && (!options.startPrimary || k.primary == *options.startPrimary);
  };

  size_t visited = 0;
  while (true) {
    IndexCursor* top = nullptr;  // the smallest key; of those, the highest source
    for (IndexCursor& c : cursors) {
      if (c.it == c.end) continue;
      if (!top || c.it->first < top->it->first || (!(top->it->first < c.it->first) && c.level > top->level)) top = &c;
    }
    if (!top) break;
    const IndexKey& key = top->it->first;
    if (!startsWith(key.secondary, options.prefix)) break;
    const ValuePtr* value = hidden(key.primary, top->level) ? nullptr : &top->it->second;
    // Lower sources with the same key are older copies of it: skip them.
    for (IndexCursor& c : cursors) {
      if (&c != top && c.it != c.end && c.it->first == key) ++c.it;
    }
    auto at = top->it++;
    if (!value) continue;
    if (exclusive && isStart(at->first)) continue;
    ++visited;
    if (!visit(at->first, *value)) break;
    if (options.limit && visited >= *options.limit) break;
  }
  return visited;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
