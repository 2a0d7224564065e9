// Core (core_binding.h): subscriptions, watches, and the note each commit
// returns to keep JS's cache and views in step (the top of core_binding.h).
#include "core_binding.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "replicore/id_set.h"
#include "replicore/json_text.h"
#include "replicore/replica.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

int Core::addIndexWatch(std::string name, std::string prefix) {
  const IndexSet* indexes = replica_->indexes();
  std::optional<size_t> index = indexes ? indexes->find(name) : std::nullopt;
  if (!index) return 0;
  int id = nextWatch_++;
  indexWatches_[id] = {*index, std::move(prefix)};
  return id;
}

int Core::addSubscription() {
  int id = nextSub_++;
  subs_[id];
  return id;
}

int Core::addWatch(std::string prefix) {
  int id = nextWatch_++;
  watches_[id] = std::move(prefix);
  return id;
}

void Core::removeWatch(int id) {
  watches_.erase(id);
  indexWatches_.erase(id);
}

template <class C>
void Core::beginWatchOp(int wid, const C& change, bool* any) {
  if (*any) {
    noteWatch_ += ',';
  } else {
    if (!noteWatch_.empty()) noteWatch_ += ',';
    noteWatch_ += '[';
    appendJsonInteger(noteWatch_, wid);
    noteWatch_ += ",[";
  }
  *any = true;
  noteWatch_ += '[';
  appendJsonInteger(noteWatch_, !change.oldValue ? 0 : !change.newValue ? 1 : 2);
  noteWatch_ += ',';
}

void Core::onChanges(const ChangeSet& cs) {
  // The index entries the commit changed, worked out once, and only when
  // a subscription read an index or an index is watched.
  std::optional<IndexChanges> indexChanges;
  auto changedEntries = [&]() -> const IndexChanges* {
    if (!replica_->indexes()) return nullptr;
    if (!indexChanges) indexChanges = replica_->indexChanges(cs);
    return &*indexChanges;
  };
  for (auto& [id, rs] : subs_) {
    if (rs.affectedBy(cs, rs.readsIndexes() ? changedEntries() : nullptr)) {
      if (!noteSubs_.empty()) noteSubs_ += ',';
      appendJsonInteger(noteSubs_, id);
    }
  }
  auto ensure = [&](const ValuePtr& v, bool keep) {
    if (!v) {
      noteWatch_ += ",0";
      return;
    }
    noteWatch_ += ',';
    appendJsonInteger(noteWatch_, v->id());
    if (!v->heldByHost() && !jsKnown_.contains(v->id())) {
      if (!noteValues_.empty()) noteValues_ += ',';
      appendJsonInteger(noteValues_, v->id());
      noteValues_ += ',';
      noteValues_ += v->text();
      if (keep) jsKnown_.insert(v->id());
      else evictLater_.push_back(v->id());  // JS drops it after the diff
    }
  };
  for (auto& [wid, prefix] : watches_) {
    std::string ops;
    bool any = false;
    for (auto it = cs.lower_bound(prefix); it != cs.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      const Change& c = it->second;
      beginWatchOp(wid, c, &any);
      appendJsonString(noteWatch_, it->first);
      ensure(c.oldValue, false);
      ensure(c.newValue, true);
      noteWatch_ += ']';
    }
    if (any) noteWatch_ += "]]";
  }
  for (auto& [wid, watched] : indexWatches_) {
    const IndexChanges* all = changedEntries();
    if (!all || watched.first >= all->size()) continue;
    const std::string& prefix = watched.second;
    bool any = false;
    for (const IndexChange& c : (*all)[watched.first]) {
      if (c.key.secondary.compare(0, prefix.size(), prefix) != 0) continue;
      beginWatchOp(wid, c, &any);
      noteWatch_ += '[';  // the key: [secondary, primary]
      appendJsonString(noteWatch_, c.key.secondary);
      noteWatch_ += ',';
      appendJsonString(noteWatch_, c.key.primary);
      noteWatch_ += ']';
      ensure(c.oldValue, false);
      ensure(c.newValue, true);
      noteWatch_ += ']';
    }
    if (any) noteWatch_ += "]]";
  }
  for (auto& [key, c] : cs) {
    if (c.oldValue && jsKnown_.erase(c.oldValue->id())) evictLater_.push_back(c.oldValue->id());
  }
}

std::string Core::takeNote() {
  maybeSweep();
  std::string out = "{\"s\":[";
  out += noteSubs_;
  out += "],\"e\":[";
  bool first = true;
  for (auto* ids : {&evictLater_, &jsValues_.releasedIDs()}) {
    for (uint64_t id : *ids) {
      if (!first) out += ',';
      first = false;
      appendJsonInteger(out, id);
    }
  }
  jsValues_.releasedIDs().clear();
  out += "],\"w\":[";
  out += noteWatch_;
  out += "],\"v\":[";
  out += noteValues_;
  out += "]}";
  noteSubs_.clear();
  noteWatch_.clear();
  noteValues_.clear();
  evictLater_.clear();
  return out;
}

void Core::maybeSweep() {
  if (jsKnown_.size() <= sweepAt_) return;
  IdSet live;
  auto tx = replica_->read();
  tx->scanEach(ScanOptions{}, [&](const std::string&, const ValuePtr& v) {
    if (jsKnown_.contains(v->id())) live.insert(v->id());
    return true;
  });
  jsKnown_.forEach([&](uint64_t id) {
    if (!live.contains(id)) evictLater_.push_back(id);
  });
  jsKnown_ = std::move(live);
  sweepAt_ = std::max<size_t>(sweepMin_, 2 * jsKnown_.size());
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
