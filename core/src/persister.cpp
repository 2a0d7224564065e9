#include "replicore/persister.h"

#include <algorithm>
#include <iterator>

#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

std::string describe(const std::string& key, const RecordProblem& problem) {
  return key + ": " + (problem.kind == RecordError::kMissing ? std::string("missing") : problem.message);
}

// Sorts by chunk number. Few chunks (one per write that had new mutations,
// until they are confirmed), often in order already: an insertion sort,
// whose code is a fraction of std::sort's in the WebAssembly package.
template <typename T>
void sortByNumber(std::vector<std::pair<uint64_t, T>>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    for (size_t j = i; j > 0 && v[j - 1].first > v[j].first; --j) std::swap(v[j - 1], v[j]);
  }
}

// Record `i` of `records` as chunk `ref` of `client`, or nullopt with
// *problem set (kMissing when absent).
std::optional<std::vector<Mutation>> readChunk(const std::vector<std::optional<std::string>>& records, size_t i,
                                               const ChunkRef& ref, const std::string& client,
                                               RecordProblem* problem) {
  if (i < records.size() && records[i]) return decodeChunk(*records[i], ref, client, problem);
  problem->kind = RecordError::kMissing;
  return std::nullopt;
}

void addRecords(const std::string& group, const Head& head, std::set<std::string>* out) {
  for (const PageRef& p : head.pages) out->insert(pageKey(group, p.number));
  for (const auto& [client, record] : head.clients) {
    for (const ChunkRef& c : record.chunks) out->insert(chunkKey(group, c.number));
  }
}

// The id up to which `client`'s mutations need no writing by the head
// `head`: held by its last chunk, or confirmed by the server.
uint64_t storedOrConfirmed(const Head& head, const std::string& client) {
  auto known = head.clients.find(client);
  uint64_t stored = known == head.clients.end() || known->second.chunks.empty() ? 0 : known->second.chunks.back().lastID;
  auto confirmed = head.lastMutationIDs.find(client);
  return confirmed == head.lastMutationIDs.end() ? stored : std::max(stored, confirmed->second);
}

}  // namespace

Persister::Persister(Replica* replica, std::string groupID, PersistOptions options)
    : replica_(replica), group_(std::move(groupID)), options_(options) {
  replica_->trackConfirmedChanges();
}

std::vector<Persister::Candidate> Persister::readHeads(const std::optional<std::string>& head0,
                                                       const std::optional<std::string>& head1,
                                                       std::vector<std::string>* problems) {
  std::vector<Candidate> out;
  const std::optional<std::string>* slots[2] = {&head0, &head1};
  for (int slot = 0; slot < 2; ++slot) {
    if (!*slots[slot]) continue;
    RecordProblem problem;
    std::optional<Head> head = decodeHead(**slots[slot], &problem);
    if (head) {
      out.push_back({std::move(*head), slot});
      continue;
    }
    if (problem.kind == RecordError::kVersion && problem.version > kStoreFormatVersion) newerFormat_ = true;
    if (problems) problems->push_back(describe(headKey(slot), problem));
  }
  if (out.size() == 2 && out[1].head.seq > out[0].head.seq) std::swap(out[0], out[1]);
  return out;
}

std::vector<std::string> Persister::keysOf(const Head& head, bool withPages) const {
  std::vector<std::string> keys;
  if (withPages) {
    for (const PageRef& p : head.pages) keys.push_back(pageKey(group_, p.number));
  }
  for (const auto& [client, record] : head.clients) {
    for (const ChunkRef& c : record.chunks) keys.push_back(chunkKey(group_, c.number));
  }
  return keys;
}

// --- Opening -------------------------------------------------------------------------

std::vector<std::string> Persister::beginLoad(const std::optional<std::string>& head0,
                                              const std::optional<std::string>& head1, bool lazy) {
  report_ = LoadReport{};
  lazy_ = lazy;
  lazyPages_.clear();
  lazyRefs_.clear();
  candidates_ = readHeads(head0, head1, &report_.problems);
  tried_ = 0;
  if (newerFormat_) {
    // A newer replicore owns this store: read nothing, write nothing.
    report_.newerFormat = true;
    candidates_.clear();
  }
  if (candidates_.empty()) {
    allDirty_ = true;
    replica_->takeConfirmedChanges();
    return {};
  }
  report_.fresh = false;
  return keysOf(candidates_[0].head, !lazy_);
}

std::vector<std::string> Persister::continueLoad(const std::vector<std::optional<std::string>>& records) {
  if (tried_ >= candidates_.size()) return {};
  const Head& head = candidates_[tried_].head;
  if (lazy_) {
    // Only the chunks were read; every page stays in the store for now.
    // The head lists its pages in key order, so each range goes in at the
    // end of the map (no search: this runs once per page before the first
    // answer).
    Unloaded unloaded;
    for (size_t i = 0; i < head.pages.size(); ++i) {
      const PageRef& ref = head.pages[i];
      std::optional<std::string> end;
      if (i + 1 < head.pages.size()) end = head.pages[i + 1].firstKey;
      unloaded.ranges.emplace_hint(unloaded.ranges.end(), ref.firstKey, Unloaded::Range{std::move(end), ref.number});
      lazyPages_[ref.number] = i;
    }
    restoreFrom(head, BaseMap(), true, records, 0, std::move(unloaded));
    // The head is not read again: its page list moves rather than copies.
    lazyRefs_ = std::move(candidates_[tried_].head.pages);
    tried_ = candidates_.size();
    return {};
  }
  // The confirmed state is used whole or not at all. Each page is checked
  // and read in one pass (keys ascend across pages: each entry goes in at
  // the end of the map).
  BaseMap base;
  bool confirmedOK = records.size() >= head.pages.size();
  for (size_t i = 0; confirmedOK && i < head.pages.size(); ++i) {
    const std::string key = pageKey(group_, head.pages[i].number);
    RecordProblem problem;
    if (!records[i]) {
      problem.kind = RecordError::kMissing;
    } else {
      std::optional<std::string_view> end;
      if (i + 1 < head.pages.size()) end = head.pages[i + 1].firstKey;
      if (decodePage(*records[i], head.pages[i].number, head.pages[i].firstKey, end,
                     [&](std::string_view k, std::string_view value) {
                       base.emplace_hint(base.end(), std::string(k), Value::fromText(std::string(value)));
                     },
                     &problem)) {
        continue;
      }
    }
    report_.problems.push_back(describe(key, problem));
    confirmedOK = false;
  }
  if (!confirmedOK && tried_ + 1 < candidates_.size()) {
    report_.problems.push_back("head " + std::to_string(head.seq) + " cannot be read whole; opening the one before");
    ++tried_;
    return keysOf(candidates_[tried_].head);
  }
  if (!confirmedOK) base.clear();
  restoreFrom(head, std::move(base), confirmedOK, records, head.pages.size());
  tried_ = candidates_.size();
  return {};
}

std::vector<std::string> Persister::unloadedPageKeys(std::optional<uint64_t> first, uint64_t maxBytes) const {
  std::vector<std::string> keys;
  const Unloaded::Ranges& ranges = replica_->unloaded().ranges;
  auto it = ranges.begin();
  if (first) {
    while (it != ranges.end() && it->second.page != *first) ++it;
    if (it == ranges.end()) it = ranges.begin();
  }
  uint64_t bytes = 0;
  for (; it != ranges.end() && (keys.empty() || bytes < maxBytes); ++it) {
    auto page = lazyPages_.find(it->second.page);
    if (page != lazyPages_.end()) bytes += lazyRefs_[page->second].bytes;
    keys.push_back(pageKey(group_, it->second.page));
  }
  return keys;
}

std::vector<std::string> Persister::fillPages(const std::vector<std::string>& keys,
                                              const std::vector<std::optional<std::string_view>>& records) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<uint64_t> number = pageNumberOf(keys[i]);
    auto found = number ? lazyPages_.find(*number) : lazyPages_.end();
    if (found == lazyPages_.end()) continue;
    const size_t index = found->second;
    lazyPages_.erase(found);
    const PageRef& page = lazyRefs_[index];
    BaseMap entries;
    RecordProblem problem;
    if (i >= records.size() || !records[i]) {
      problem.kind = RecordError::kMissing;
    } else {
      std::optional<std::string_view> end;
      if (index + 1 < lazyRefs_.size()) end = lazyRefs_[index + 1].firstKey;
      if (decodePage(*records[i], page.number, page.firstKey, end,
                     [&](std::string_view k, std::string_view value) {
                       entries.emplace_hint(entries.end(), std::string(k), Value::fromText(std::string(value)));
                     },
                     &problem)) {
        replica_->fillUnloaded(page.firstKey, std::move(entries));
        continue;
      }
    }
    problems.push_back(describe(keys[i], problem) + "; the confirmed state will be fetched again");
    replica_->fillUnloaded(page.firstKey, BaseMap());
    replica_->forgetCookie();
    settled_.reset();
  }
  // Every page is in: the bounds are not needed any more.
  if (lazyPages_.empty()) std::vector<PageRef>().swap(lazyRefs_);
  return problems;
}

std::optional<uint64_t> Persister::pageNumberOf(std::string_view key) const {
  // pageKey: "g/" group "/p" number, the number without leading zeros.
  const size_t digits = 2 + group_.size() + 2;
  if (key.size() <= digits || key.size() > digits + 19 || key.compare(0, 2, "g/") != 0 ||
      key.compare(2, group_.size(), group_) != 0 || key.compare(digits - 2, 2, "/p") != 0 ||
      (key[digits] == '0' && key.size() > digits + 1)) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (size_t i = digits; i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9') return std::nullopt;
    n = n * 10 + uint64_t(key[i] - '0');
  }
  return n;
}

void Persister::restoreFrom(const Head& head, BaseMap base, bool confirmedOK,
                            const std::vector<std::optional<std::string>>& records, size_t chunksAt,
                            Unloaded unloaded) {
  pages_.clear();
  if (confirmedOK) {
    // In key order, as the head lists them: each goes in at the end.
    for (const PageRef& ref : head.pages) pages_.emplace_hint(pages_.end(), ref.firstKey, Page{ref.number, ref.bytes});
  }
  report_.confirmedDropped = !confirmedOK;
  report_.entries = base.size();
  // Chunks in the order they were written (numbers ascend), mutations in
  // their order within each.
  std::vector<std::pair<uint64_t, std::pair<std::string, ChunkRef>>> chunks;
  for (const auto& [client, record] : head.clients) {
    for (const ChunkRef& c : record.chunks) chunks.push_back({c.number, {client, c}});
  }
  sortByNumber(chunks);
  std::map<uint64_t, size_t> index;  // chunk number -> record index
  size_t at = chunksAt;
  for (const auto& [client, record] : head.clients) {
    for (const ChunkRef& c : record.chunks) index[c.number] = at++;
  }
  std::deque<Mutation> pending;
  for (const auto& [number, owner] : chunks) {
    const auto& [client, ref] = owner;
    RecordProblem problem;
    std::optional<std::vector<Mutation>> mutations = readChunk(records, index[number], ref, client, &problem);
    if (!mutations) {
      report_.problems.push_back(describe(chunkKey(group_, number), problem) + " (" + std::to_string(ref.lastID - ref.firstID + 1) +
                                 " unconfirmed mutations of client " + client + " lost)");
      continue;
    }
    knownChunks_.insert(number);
    auto lmid = head.lastMutationIDs.find(client);
    for (Mutation& m : *mutations) {
      if (lmid != head.lastMutationIDs.end() && m.id <= lmid->second) continue;
      pending.push_back(std::move(m));
    }
  }
  // A client's mutations must follow its last mutation id without a gap, or
  // the server refuses every push of the group (a mutation from the future).
  // They stop following when the server lost some (a restored database)
  // and their client, which re-queues its own, is gone: those can never be
  // applied, so they are dropped, and said.
  {
    std::map<std::string, uint64_t> expected;
    std::map<std::string, size_t> dropped;
    std::deque<Mutation> kept;
    for (Mutation& m : pending) {
      auto lmid = head.lastMutationIDs.find(m.clientID);
      auto next = expected.emplace(m.clientID, lmid == head.lastMutationIDs.end() ? 1 : lmid->second + 1).first;
      if (next->second == m.id) {
        ++next->second;
        kept.push_back(std::move(m));
      } else {
        next->second = 0;  // nothing after a gap follows either
        ++dropped[m.clientID];
      }
    }
    for (const auto& [client, n] : dropped) {
      report_.problems.push_back(std::to_string(n) + " unconfirmed mutations of client " + client +
                                 " do not follow its last mutation id (the server lost some): dropped");
    }
    pending.swap(kept);
  }
  report_.pending = pending.size();
  replica_->restore(std::move(base), confirmedOK ? head.cookie : Cookie(), head.lastMutationIDs, std::move(pending),
                    std::move(unloaded));
  replica_->takeConfirmedChanges();
  allDirty_ = !confirmedOK;
  dirtyKeys_.clear();
  if (confirmedOK) settled_ = head.cookie;
}

// --- Writing -------------------------------------------------------------------------

bool Persister::hasWork() {
  if (newerFormat_) return false;
  Replica::ConfirmedChanges changes = replica_->takeConfirmedChanges();
  if (staged_.active) {
    // A write is in flight: what changed since it was planned is not in it.
    if (changes.all) {
      staged_.lateAll = true;
      staged_.lateKeys.clear();
    } else if (!staged_.lateAll) {
      staged_.lateKeys.insert(changes.keys.begin(), changes.keys.end());
    }
  }
  if (changes.all) {
    allDirty_ = true;
    dirtyKeys_.clear();
  } else if (!allDirty_) {
    dirtyKeys_.merge(changes.keys);
  }
  // Pages are written only from a confirmed state that is all in memory.
  if ((allDirty_ || !dirtyKeys_.empty()) && (!settled_ || *settled_ != replica_->cookie()) &&
      replica_->fullyLoaded()) {
    return true;
  }
  if (!adopted_.empty()) return true;
  if (replica_->resetCount() != storedResets_) return true;
  const std::string& me = replica_->options().clientID;
  // An own mutation not in a chunk yet (written chunks are known).
  uint64_t stored = 0;
  for (const Mutation& m : replica_->pendingMutations()) {
    if (m.clientID == me) stored = std::max(stored, m.id);
  }
  return stored > storedUpTo_;
}

void Persister::writePages(PageTable& table, const std::set<std::string, std::less<>>& dirtyPages, bool all,
                           uint64_t* nextNumber, StoreBatch* batch) const {
  const BaseMap& base = replica_->confirmed();
  // The ranges to write: [from, to) over the confirmed keys, each replacing
  // the pages that start in it.
  std::vector<std::pair<std::string, std::optional<std::string>>> ranges;
  if (all) {
    table.clear();
    ranges.push_back({"", std::nullopt});
  } else {
    for (const std::string& first : dirtyPages) {
      auto it = table.find(first);
      auto next = std::next(it);
      ranges.push_back({first, next == table.end() ? std::nullopt : std::optional<std::string>(next->first)});
    }
  }
  for (const auto& [from, to] : ranges) {
    auto begin = base.lower_bound(from);
    auto end = to ? base.lower_bound(*to) : base.end();
    table.erase(from);
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    uint64_t bytes = 0;
    std::string first = from;
    auto flush = [&] {
      uint64_t number = (*nextNumber)++;
      batch->ops.push_back({pageKey(group_, number), encodePage(number, entries)});
      table[first] = Page{number, bytes};
      entries.clear();
      bytes = 0;
    };
    for (auto it = begin; it != end; ++it) {
      if (bytes >= options_.pageBytes) {
        flush();
        first = it->first;
      }
      const std::string& text = it->second->text();
      entries.push_back({it->first, text});
      bytes += it->first.size() + text.size();
    }
    // An emptied page is dropped (its range joins the page before), except
    // the first, which always starts the table.
    if (!entries.empty() || first.empty()) flush();
  }
}

StoreBatch Persister::planWrite(const std::optional<std::string>& head0, const std::optional<std::string>& head1,
                                double nowMs) {
  StoreBatch batch;
  staged_ = Staged{};
  std::vector<Candidate> heads = readHeads(head0, head1, nullptr);
  if (newerFormat_) return batch;
  hasWork();  // takes the replica's confirmed changes into the dirty set
  const Head* current = heads.empty() ? nullptr : &heads[0].head;
  const Head* older = heads.size() > 1 ? &heads[1].head : nullptr;
  // A lazy open still reading its pages cannot write a confirmed state,
  // and with no head in the store (another tab removed the group) there is
  // none to keep: wait until the pages are in.
  const bool loaded = replica_->fullyLoaded();
  if (!loaded && !current) return batch;
  Head next;
  next.seq = current ? current->seq + 1 : 1;
  next.nextNumber = current ? current->nextNumber : 1;
  int slot = heads.empty() ? 0 : 1 - heads[0].slot;

  // The confirmed state: the higher cookie wins.
  const Cookie& mine = replica_->cookie();
  // An equal cookie is written too when this replica's pages are not
  // stored (the stored ones were unreadable, or never written).
  bool writeConfirmed = loaded && (!current || compareCookies(mine, current->cookie) > 0 ||
                                   (allDirty_ && mine == current->cookie));
  if (writeConfirmed) {
    PageTable table = pages_;
    std::set<uint64_t> stored;
    if (current) {
      for (const PageRef& p : current->pages) stored.insert(p.number);
    }
    bool all = allDirty_ || table.empty();
    std::set<std::string, std::less<>> dirtyPages;
    if (!all) {
      for (const auto& [first, page] : table) {
        if (!stored.count(page.number)) dirtyPages.insert(first);
      }
      for (const std::string& key : dirtyKeys_) {
        auto it = table.upper_bound(key);
        dirtyPages.insert(std::prev(it)->first);  // the first page starts at ""
      }
    }
    writePages(table, dirtyPages, all, &next.nextNumber, &batch);
    for (const auto& [first, page] : table) next.pages.push_back({page.number, first, page.bytes});
    next.cookie = mine;
    next.lastMutationIDs = replica_->lastMutationIDs();
    staged_.pages = std::move(table);
    staged_.wroteConfirmed = true;
  } else {
    next.pages = current->pages;
    next.cookie = current->cookie;
    next.lastMutationIDs = current->lastMutationIDs;
  }

  // The clients: everyone's as stored, this client's own brought up to date.
  if (current) next.clients = current->clients;
  const std::string& me = replica_->options().clientID;
  ClientRecord& own = next.clients[me];
  own.lastActiveMs = nowMs;
  // Own mutations up to here are stored or confirmed, as the head says: a
  // head written meanwhile without this client's newest chunk (a tab that
  // planned against an older head as its page unloaded) is repaired by
  // writing those mutations again.
  uint64_t storedUpTo = storedOrConfirmed(next, me);
  staged_.resets = replica_->resetCount();
  if (staged_.resets != storedResets_) {
    // A pull lowered this client's lmid: its queue now starts below what the
    // chunks hold (confirmed mutations put back, perhaps with new ids), so
    // the chunks are replaced by one holding the whole queue, in order.
    own.chunks.clear();
    auto mine = replica_->lastMutationIDs().find(me);
    storedUpTo = mine == replica_->lastMutationIDs().end() ? 0 : mine->second;
  }
  std::vector<Mutation> fresh;
  for (const Mutation& m : replica_->pendingMutations()) {
    if (m.clientID == me && m.id > storedUpTo) fresh.push_back(m);
  }
  if (!fresh.empty()) {
    ChunkRef ref{next.nextNumber++, fresh.front().id, fresh.back().id};
    batch.ops.push_back({chunkKey(group_, ref.number), encodeChunk(ref.number, me, fresh)});
    own.chunks.push_back(ref);
    staged_.chunks.push_back(ref.number);
    staged_.upTo = ref.lastID;
  } else {
    staged_.upTo = storedUpTo;
  }
  // Mutations journaled by other clients as their pages unloaded: written
  // in chunks of their client, unless the store has them (that page's own
  // write landed, or another tab took the journal first) or the server
  // confirmed them.
  for (const auto& [client, mutations] : adopted_) {
    if (client == me || mutations.empty()) continue;
    staged_.adopted[client] = mutations.back().id;
    uint64_t stored = storedOrConfirmed(next, client);
    std::vector<Mutation> missing;
    for (const Mutation& m : mutations) {
      if (m.id > stored) missing.push_back(m);
    }
    if (missing.empty()) continue;
    ClientRecord& record = next.clients[client];
    if (record.lastActiveMs == 0) record.lastActiveMs = nowMs;
    ChunkRef ref{next.nextNumber++, missing.front().id, missing.back().id};
    batch.ops.push_back({chunkKey(group_, ref.number), encodeChunk(ref.number, client, missing)});
    record.chunks.push_back(ref);
    staged_.chunks.push_back(ref.number);
  }
  // Confirmed chunks go; so do idle clients with nothing unconfirmed.
  for (auto it = next.clients.begin(); it != next.clients.end();) {
    auto lmid = next.lastMutationIDs.find(it->first);
    std::vector<ChunkRef>& chunks = it->second.chunks;
    if (lmid != next.lastMutationIDs.end()) {
      uint64_t confirmed = lmid->second;
      chunks.erase(std::remove_if(chunks.begin(), chunks.end(), [&](const ChunkRef& c) { return c.lastID <= confirmed; }),
                   chunks.end());
    }
    bool idle = nowMs - it->second.lastActiveMs > options_.clientMaxAgeMs;
    if (it->first != me && chunks.empty() && idle) {
      it = next.clients.erase(it);
    } else {
      ++it;
    }
  }
  batch.ops.push_back({headKey(slot), encodeHead(next)});

  // Records only the slot being overwritten named can go now; those the
  // current head names stay until it is overwritten in turn.
  if (older) {
    std::set<std::string> keep, drop;
    addRecords(group_, *current, &keep);
    addRecords(group_, next, &keep);
    addRecords(group_, *older, &drop);
    for (const std::string& key : drop) {
      if (!keep.count(key)) batch.ops.push_back({key, std::nullopt});
    }
  }
  noteForeign(next, &batch);
  staged_.cookie = mine;
  staged_.active = true;
  return batch;
}

void Persister::writeDone(bool committed) {
  if (!staged_.active) return;
  if (committed) {
    if (staged_.wroteConfirmed) {
      pages_ = std::move(staged_.pages);
      // Only what the write planned is clean: changes taken meanwhile (a
      // pull applied while it was in flight) go in the next write.
      allDirty_ = staged_.lateAll;
      dirtyKeys_ = std::move(staged_.lateKeys);
      if (allDirty_) dirtyKeys_.clear();
    }
    settled_ = staged_.cookie;
    for (uint64_t n : staged_.chunks) knownChunks_.insert(n);
    storedUpTo_ = staged_.upTo;
    storedResets_ = staged_.resets;
    for (const auto& [client, upTo] : staged_.adopted) {
      auto it = adopted_.find(client);
      if (it != adopted_.end() && !it->second.empty() && it->second.back().id <= upTo) adopted_.erase(it);
    }
  }
  staged_ = Staged{};
}

// --- Tabs -----------------------------------------------------------------------------

void Persister::noteForeign(const Head& head, StoreBatch* batch) {
  const std::string& me = replica_->options().clientID;
  for (const auto& [client, record] : head.clients) {
    if (client == me) continue;
    for (const ChunkRef& c : record.chunks) {
      if (knownChunks_.count(c.number)) continue;
      // A journal's chunk this very write adds: its mutations are here.
      if (std::find(staged_.chunks.begin(), staged_.chunks.end(), c.number) != staged_.chunks.end()) continue;
      std::string key = chunkKey(group_, c.number);
      foreignPlanned_[key] = {client, c};
      batch->foreignChunks.push_back(std::move(key));
    }
  }
}

std::vector<std::string> Persister::planRefresh(const std::optional<std::string>& head0,
                                                const std::optional<std::string>& head1) {
  std::vector<Candidate> heads = readHeads(head0, head1, nullptr);
  if (heads.empty() || newerFormat_) return {};
  StoreBatch batch;
  noteForeign(heads[0].head, &batch);
  return batch.foreignChunks;
}

std::vector<Mutation> Persister::takeForeign(const std::vector<std::string>& keys,
                                             const std::vector<std::optional<std::string>>& records,
                                             std::vector<std::string>* problems) {
  std::vector<std::pair<uint64_t, std::vector<Mutation>>> chunks;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto planned = foreignPlanned_.find(keys[i]);
    if (planned == foreignPlanned_.end()) continue;
    const auto& [client, ref] = planned->second;
    RecordProblem problem;
    std::optional<std::vector<Mutation>> mutations = readChunk(records, i, ref, client, &problem);
    if (mutations) {
      knownChunks_.insert(ref.number);
      chunks.push_back({ref.number, std::move(*mutations)});
    } else if (problem.kind != RecordError::kMissing && problems) {
      // A missing chunk was confirmed and collected meanwhile: no problem.
      problems->push_back(describe(keys[i], problem));
    }
    foreignPlanned_.erase(planned);
  }
  sortByNumber(chunks);
  std::vector<Mutation> out;
  for (auto& [number, mutations] : chunks) {
    for (Mutation& m : mutations) out.push_back(std::move(m));
  }
  return out;
}

// --- Journals -----------------------------------------------------------------------------

std::string Persister::journal(uint64_t* lastID) const {
  const std::string& me = replica_->options().clientID;
  std::vector<Mutation> unstored;
  for (const Mutation& m : replica_->pendingMutations()) {
    if (m.clientID == me && m.id > storedUpTo_) unstored.push_back(m);
  }
  if (lastID) *lastID = unstored.empty() ? 0 : unstored.back().id;
  return unstored.empty() ? std::string() : encodeJournal(me, unstored);
}

std::optional<std::vector<Mutation>> Persister::takeJournal(std::string_view record, RecordProblem* problem) {
  std::string client;
  std::optional<std::vector<Mutation>> mutations = decodeJournal(record, &client, problem);
  if (!mutations) return std::nullopt;
  std::vector<Mutation> out;
  if (client == replica_->options().clientID) return out;  // our own: in memory already
  const auto& lmids = replica_->lastMutationIDs();
  auto confirmed = lmids.find(client);
  std::vector<Mutation>& kept = adopted_[client];
  for (Mutation& m : *mutations) {
    if (confirmed != lmids.end() && m.id <= confirmed->second) continue;
    // Taken twice (two opens raced): each id once, ascending.
    if (!kept.empty() && m.id <= kept.back().id) continue;
    kept.push_back(m);
    out.push_back(std::move(m));
  }
  if (kept.empty()) adopted_.erase(client);
  return out;
}

// --- The group registry ----------------------------------------------------------------

GroupChoice chooseGroup(const std::optional<std::string>& registry, const std::string& schemaVersion,
                        std::vector<std::string> mutatorNames, const std::string& newID, double nowMs,
                        double maxAgeMs, std::string* problem) {
  // Sorted, without repeats. An insertion sort: an app has few mutators,
  // and std::sort's code is a fraction of a kilobyte of the package each.
  std::vector<std::string> names;
  for (std::string& n : mutatorNames) {
    size_t at = names.size();
    while (at > 0 && n < names[at - 1]) --at;
    if (at > 0 && names[at - 1] == n) continue;
    names.insert(names.begin() + at, std::move(n));
  }
  mutatorNames = std::move(names);
  std::vector<GroupEntry> groups;
  if (registry) {
    RecordProblem p;
    std::optional<std::vector<GroupEntry>> read = decodeRegistry(*registry, &p);
    if (read) {
      groups = std::move(*read);
    } else if (problem) {
      *problem = "the group registry: " + p.message;
    }
  }
  GroupChoice choice;
  for (GroupEntry& g : groups) {
    if (choice.groupID.empty() && g.schemaVersion == schemaVersion && g.mutatorNames == mutatorNames) {
      choice.groupID = g.id;
      g.lastActiveMs = nowMs;
    } else if (nowMs - g.lastActiveMs > maxAgeMs) {
      choice.expired.push_back(g.id);
    }
  }
  if (choice.groupID.empty()) {
    choice.groupID = newID;
    choice.created = true;
    groups.push_back({newID, schemaVersion, std::move(mutatorNames), nowMs});
  }
  choice.registry = encodeRegistry(groups);
  return choice;
}

std::string registryWithout(const std::optional<std::string>& registry, const std::string& groupID) {
  std::vector<GroupEntry> groups;
  if (registry) {
    if (auto read = decodeRegistry(*registry, nullptr)) groups = std::move(*read);
  }
  groups.erase(std::remove_if(groups.begin(), groups.end(), [&](const GroupEntry& g) { return g.id == groupID; }),
               groups.end());
  return encodeRegistry(groups);
}

std::vector<std::string> groupRecords(const std::string& groupID, const std::optional<std::string>& head0,
                                      const std::optional<std::string>& head1, bool* hasPending) {
  std::set<std::string> keys{headKey(groupID, 0), headKey(groupID, 1)};
  *hasPending = false;
  for (const std::optional<std::string>* text : {&head0, &head1}) {
    if (!*text) continue;
    std::optional<Head> head = decodeHead(**text, nullptr);
    if (!head) continue;
    addRecords(groupID, *head, &keys);
    for (const auto& [client, record] : head->clients) {
      if (!record.chunks.empty()) *hasPending = true;
    }
  }
  return {keys.begin(), keys.end()};
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
