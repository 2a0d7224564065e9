#include "replicore/store_format.h"

#include <algorithm>
#include <cstring>

#include "replicore/json_text.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// A 64-bit checksum of a record's payload: eight bytes a step, each step
// mixed by a multiply and a shift, so that a torn or altered record fails
// it. Not cryptographic: it guards against accidents, not attackers (an
// attacker who can write the store can write anything). Taken in pieces
// (a chunk's large args are pieces of their own), with the same result as
// over their concatenation: words that straddle two pieces are carried.
class Checksum {
 public:
  explicit Checksum(size_t totalBytes) : h_(0x6a09e667f3bcc909ull ^ totalBytes) {}
  void add(std::string_view s) {
    size_t i = 0;
    if (carried_ > 0) {
      i = std::min(8 - carried_, s.size());
      std::memcpy(carry_ + carried_, s.data(), i);
      carried_ += i;
      if (carried_ < 8) return;
      word(carry_);
      carried_ = 0;
    }
    for (; i + 8 <= s.size(); i += 8) word(s.data() + i);
    carried_ = s.size() - i;
    std::memcpy(carry_, s.data() + i, carried_);
  }
  uint64_t finish() const {
    uint64_t h = h_, tail = 0;
    std::memcpy(&tail, carry_, carried_);
    h = (h ^ tail) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h;
  }

 private:
  void word(const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h_ = (h_ ^ w) * 0x9e3779b97f4a7c15ull;
    h_ ^= h_ >> 29;
  }
  uint64_t h_;
  char carry_[8] = {};
  size_t carried_ = 0;
};

uint64_t checksum(std::string_view s) {
  Checksum c(s.size());
  c.add(s);
  return c.finish();
}

void appendHex16(std::string& out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += digits[(v >> shift) & 15];
}

// Writes a record's payload after room kept for its frame, which finish()
// fills in place: a record of megabytes (a chunk holding a large mutation)
// is not copied again to be framed. keptBytes() makes a value's text a
// piece of its own (finishRecord), not a copy.
class Writer {
 public:
  Writer() : out_(frameBytes(), ' ') {}
  void reserve(size_t payloadBytes) { out_.reserve(frameBytes() + payloadBytes); }
  void number(uint64_t n) {
    appendJsonInteger(out_, n);
    out_ += ' ';
  }
  void real(double d) {
    std::string text;
    appendJsonNumber(text, d);
    bytes(text);
  }
  void bytes(std::string_view s) {
    appendJsonInteger(out_, s.size());
    out_ += ':';
    out_.append(s.data(), s.size());
  }
  // As bytes(value->text()), with the text left where `value` keeps it.
  void keptBytes(const ValuePtr& value) {
    const std::string& s = value->text();
    appendJsonInteger(out_, s.size());
    out_ += ':';
    pieces_.emplace_back(std::move(out_), nullptr);
    pieces_.emplace_back(std::string(), value);
    out_.clear();
  }
  // The record: frame + payload.
  std::string finish(char kind) {
    std::string head = store_detail::frameHeader(kind, std::string_view(out_).substr(frameBytes()));
    std::memcpy(out_.data(), head.data(), frameBytes());  // the same size: in place
    return std::move(out_);
  }
  // The record, in the pieces written.
  StoreRecord finishRecord(char kind);

 private:
  // "RC<version> <kind> <16 hex digits> ", for a one-digit version.
  static_assert(kStoreFormatVersion >= 0 && kStoreFormatVersion < 10, "the frame's size counts one digit");
  static constexpr size_t frameBytes() { return 2 + 1 + 1 + 1 + 1 + 16 + 1; }
  std::string out_;
  std::vector<std::pair<std::string, ValuePtr>> pieces_;  // before out_
};

StoreRecord Writer::finishRecord(char kind) {
  if (pieces_.empty()) return StoreRecord(finish(kind));
  pieces_.emplace_back(std::move(out_), nullptr);
  std::vector<std::string_view> payload;
  for (const auto& [text, kept] : pieces_) payload.push_back(kept ? std::string_view(kept->text()) : text);
  payload[0].remove_prefix(frameBytes());
  std::string head = store_detail::frameHeader(kind, store_detail::payloadChecksum(payload));
  std::memcpy(pieces_[0].first.data(), head.data(), frameBytes());
  StoreRecord record;
  for (auto& [text, kept] : pieces_) {
    if (kept) record.append(std::move(kept));
    else record.append(std::move(text));
  }
  pieces_.clear();
  return record;
}

bool readReal(std::string_view& in, double* out) {
  std::string_view text;
  if (!store_detail::readBytes(in, &text)) return false;
  std::optional<double> d = readJsonNumber(text);
  if (!d) return false;
  *out = *d;
  return true;
}

bool readString(std::string_view& in, std::string* out) {
  std::string_view s;
  if (!store_detail::readBytes(in, &s)) return false;
  out->assign(s.data(), s.size());
  return true;
}

}  // namespace

namespace store_detail {

std::string frameHeader(char kind, uint64_t payloadChecksum) {
  std::string record = "RC";
  appendJsonInteger(record, kStoreFormatVersion);
  record += ' ';
  record += kind;
  record += ' ';
  appendHex16(record, payloadChecksum);
  record += ' ';
  return record;
}

std::string frameHeader(char kind, std::string_view payload) { return frameHeader(kind, checksum(payload)); }

uint64_t payloadChecksum(const std::vector<std::string_view>& pieces) {
  size_t total = 0;
  for (std::string_view p : pieces) total += p.size();
  Checksum c(total);
  for (std::string_view p : pieces) c.add(p);
  return c.finish();
}

std::string frame(char kind, std::string_view payload) {
  std::string record = frameHeader(kind, payload);
  record.append(payload.data(), payload.size());
  return record;
}

bool corrupt(RecordProblem* problem, const char* what) {
  if (problem) {
    problem->kind = RecordError::kCorrupt;
    problem->message = std::string("corrupt record (") + what + ")";
  }
  return false;
}

bool readNumber(std::string_view& in, uint64_t* out) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
    if (i >= 19) return false;  // beyond what any count or id here reaches
    n = n * 10 + uint64_t(in[i] - '0');
    ++i;
  }
  if (i == 0 || i >= in.size() || in[i] != ' ') return false;
  in.remove_prefix(i + 1);
  *out = n;
  return true;
}

bool readBytes(std::string_view& in, std::string_view* out) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
    if (i >= 19) return false;
    n = n * 10 + uint64_t(in[i] - '0');
    ++i;
  }
  if (i == 0 || i >= in.size() || in[i] != ':' || n > in.size() - i - 1) return false;
  *out = in.substr(i + 1, n);
  in.remove_prefix(i + 1 + n);
  return true;
}

std::optional<std::string_view> unframe(std::string_view text, char kind, RecordProblem* problem) {
  if (text.size() < 2 || text.substr(0, 2) != "RC") {
    corrupt(problem, "not a replicore record");
    return std::nullopt;
  }
  text.remove_prefix(2);
  uint64_t version = 0;
  if (!readNumber(text, &version)) {
    corrupt(problem, "version");
    return std::nullopt;
  }
  if (version != uint64_t(kStoreFormatVersion)) {
    if (problem) {
      problem->kind = RecordError::kVersion;
      problem->version = version > 1000000 ? 1000000 : int(version);
      problem->message = "record of format version " + std::to_string(version) + " (this replicore reads " +
                         std::to_string(kStoreFormatVersion) + ")";
    }
    return std::nullopt;
  }
  if (text.size() < 19 || text[0] != kind || text[1] != ' ' || text[18] != ' ') {
    corrupt(problem, "kind");
    return std::nullopt;
  }
  uint64_t sum = 0;
  for (size_t i = 2; i < 18; ++i) {
    char c = text[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) {
      corrupt(problem, "checksum");
      return std::nullopt;
    }
    sum = (sum << 4) | uint64_t(d);
  }
  std::string_view payload = text.substr(19);
  if (checksum(payload) != sum) {
    corrupt(problem, "checksum mismatch: torn or altered");
    return std::nullopt;
  }
  return payload;
}

}  // namespace store_detail

using namespace store_detail;

std::string groupRegistryKey() { return "groups"; }

std::string headKey(const std::string& group, int slot) { return "g/" + group + (slot ? "/h1" : "/h0"); }

std::string pageKey(const std::string& group, uint64_t number) {
  std::string key = "g/" + group + "/p";
  appendJsonInteger(key, number);
  return key;
}

std::string chunkKey(const std::string& group, uint64_t number) {
  std::string key = "g/" + group + "/m";
  appendJsonInteger(key, number);
  return key;
}

// Head payload: seq nextNumber cookie
//               nLmids (client lmid)*
//               nPages (number firstKey bytes)*
//               nClients (client lastActive nChunks (number first last)*)*
std::string encodeHead(const Head& head) {
  Writer w;
  w.number(head.seq);
  w.number(head.nextNumber);
  w.bytes(head.cookie.text());
  w.number(head.lastMutationIDs.size());
  for (const auto& [client, id] : head.lastMutationIDs) {
    w.bytes(client);
    w.number(id);
  }
  w.number(head.pages.size());
  for (const PageRef& p : head.pages) {
    w.number(p.number);
    w.bytes(p.firstKey);
    w.number(p.bytes);
  }
  w.number(head.clients.size());
  for (const auto& [client, record] : head.clients) {
    w.bytes(client);
    w.real(record.lastActiveMs);
    w.number(record.chunks.size());
    for (const ChunkRef& c : record.chunks) {
      w.number(c.number);
      w.number(c.firstID);
      w.number(c.lastID);
    }
  }
  return w.finish('h');
}

std::optional<Head> decodeHead(std::string_view text, RecordProblem* problem) {
  std::optional<std::string_view> payload = unframe(text, 'h', problem);
  if (!payload) return std::nullopt;
  std::string_view in = *payload;
  Head head;
  std::string_view cookieText;
  uint64_t n = 0;
  auto bad = [&](const char* what) {
    corrupt(problem, what);
    return std::nullopt;
  };
  if (!readNumber(in, &head.seq) || !readNumber(in, &head.nextNumber) || !readBytes(in, &cookieText)) {
    return bad("head fields");
  }
  std::optional<Cookie> cookie = Cookie::fromText(cookieText);
  if (!cookie) return bad("head cookie");
  head.cookie = std::move(*cookie);
  if (!readNumber(in, &n) || n > in.size()) return bad("head lmid count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string client;
    uint64_t id = 0;
    if (!readString(in, &client) || !readNumber(in, &id)) return bad("head lmid");
    head.lastMutationIDs[std::move(client)] = id;
  }
  if (!readNumber(in, &n) || n > in.size()) return bad("head page count");
  head.pages.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    PageRef p;
    if (!readNumber(in, &p.number) || !readString(in, &p.firstKey) || !readNumber(in, &p.bytes)) {
      return bad("head page");
    }
    if (p.number >= head.nextNumber) return bad("head page number");
    if (i == 0 ? !p.firstKey.empty() : p.firstKey <= head.pages.back().firstKey) return bad("head page order");
    head.pages.push_back(std::move(p));
  }
  if (!readNumber(in, &n) || n > in.size()) return bad("head client count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string client;
    ClientRecord record;
    uint64_t chunks = 0;
    if (!readString(in, &client) || !readReal(in, &record.lastActiveMs) || !readNumber(in, &chunks) ||
        chunks > in.size()) {
      return bad("head client");
    }
    for (uint64_t j = 0; j < chunks; ++j) {
      ChunkRef c;
      if (!readNumber(in, &c.number) || !readNumber(in, &c.firstID) || !readNumber(in, &c.lastID)) {
        return bad("head chunk");
      }
      if (c.number >= head.nextNumber || c.firstID == 0 || c.lastID < c.firstID ||
          (!record.chunks.empty() && c.firstID <= record.chunks.back().lastID)) {
        return bad("head chunk ids");
      }
      record.chunks.push_back(c);
    }
    head.clients[std::move(client)] = std::move(record);
  }
  if (!in.empty()) return bad("head tail");
  return head;
}

// Page payload: number count (key value)*
std::string encodePage(uint64_t number, const std::vector<std::pair<std::string_view, std::string_view>>& entries) {
  Writer w;
  w.number(number);
  w.number(entries.size());
  for (const auto& [key, value] : entries) {
    w.bytes(key);
    w.bytes(value);
  }
  return w.finish('p');
}

StoreRecord::StoreRecord(std::string text) { append(std::move(text)); }

void StoreRecord::append(std::string text) {
  size_ += text.size();
  pieces_.push_back({std::move(text), nullptr});
}

void StoreRecord::append(ValuePtr value) {
  size_ += value->text().size();
  pieces_.push_back({std::string(), std::move(value)});
}

std::string StoreRecord::text() const {
  if (pieces_.size() == 1 && !pieces_[0].kept) return pieces_[0].owned;
  std::string out;
  out.reserve(size_);
  for (size_t i = 0; i < pieces_.size(); ++i) {
    std::string_view p = piece(i);
    out.append(p.data(), p.size());
  }
  return out;
}

// Chunk payload: number client count (id name args timestamp)*
StoreRecord encodeChunk(uint64_t number, const std::string& clientID, const std::vector<Mutation>& mutations) {
  Writer w;
  size_t bytes = clientID.size() + 64;
  for (const Mutation& m : mutations) {
    size_t args = m.args->text().size();
    bytes += m.name.size() + (args >= kChunkArgsPieceBytes ? 0 : args) + 64;
  }
  w.reserve(bytes);
  w.number(number);
  w.bytes(clientID);
  w.number(mutations.size());
  for (const Mutation& m : mutations) {
    w.number(m.id);
    w.bytes(m.name);
    if (m.args->text().size() >= kChunkArgsPieceBytes) w.keptBytes(m.args);
    else w.bytes(m.args->text());
    w.real(m.timestamp);
  }
  return w.finishRecord('m');
}

std::optional<std::vector<Mutation>> decodeChunk(std::string_view text, const ChunkRef& ref,
                                                 const std::string& clientID, RecordProblem* problem) {
  std::optional<std::string_view> payload = unframe(text, 'm', problem);
  if (!payload) return std::nullopt;
  std::string_view in = *payload;
  uint64_t number = 0, count = 0;
  std::string_view client;
  auto bad = [&](const char* what) {
    corrupt(problem, what);
    return std::nullopt;
  };
  if (!readNumber(in, &number) || number != ref.number) return bad("chunk number");
  if (!readBytes(in, &client) || client != clientID) return bad("chunk client");
  if (!readNumber(in, &count) || count != ref.lastID - ref.firstID + 1) return bad("chunk count");
  std::vector<Mutation> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    Mutation m;
    m.clientID = clientID;
    std::string_view args;
    if (!readNumber(in, &m.id) || m.id != ref.firstID + i || !readString(in, &m.name) || !readBytes(in, &args) ||
        !readReal(in, &m.timestamp)) {
      return bad("chunk mutation");
    }
    // The args were JSON text when written, and the checksum held.
    m.args = Value::fromText(std::string(args));
    out.push_back(std::move(m));
  }
  if (!in.empty()) return bad("chunk tail");
  return out;
}

// Journal payload: client firstID count (name args timestamp)*
std::string encodeJournal(const std::string& clientID, const std::vector<Mutation>& mutations) {
  Writer w;
  w.bytes(clientID);
  w.number(mutations.empty() ? 0 : mutations.front().id);
  w.number(mutations.size());
  for (const Mutation& m : mutations) {
    w.bytes(m.name);
    w.bytes(m.args->text());
    w.real(m.timestamp);
  }
  return w.finish('j');
}

std::optional<std::vector<Mutation>> decodeJournal(std::string_view text, std::string* clientID,
                                                   RecordProblem* problem) {
  std::optional<std::string_view> payload = unframe(text, 'j', problem);
  if (!payload) return std::nullopt;
  std::string_view in = *payload;
  uint64_t first = 0, count = 0;
  auto bad = [&](const char* what) {
    corrupt(problem, what);
    return std::nullopt;
  };
  if (!readString(in, clientID) || clientID->empty()) return bad("journal client");
  if (!readNumber(in, &first) || !readNumber(in, &count) || count > in.size()) return bad("journal count");
  if (count > 0 && first == 0) return bad("journal first id");
  std::vector<Mutation> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    Mutation m;
    m.clientID = *clientID;
    m.id = first + i;
    std::string_view args;
    if (!readString(in, &m.name) || !readBytes(in, &args) || !readReal(in, &m.timestamp)) {
      return bad("journal mutation");
    }
    // The args were JSON text when written, and the checksum held.
    m.args = Value::fromText(std::string(args));
    out.push_back(std::move(m));
  }
  if (!in.empty()) return bad("journal tail");
  return out;
}

// Registry payload: count (id schemaVersion lastActive nNames name*)*
std::string encodeRegistry(const std::vector<GroupEntry>& groups) {
  Writer w;
  w.number(groups.size());
  for (const GroupEntry& g : groups) {
    w.bytes(g.id);
    w.bytes(g.schemaVersion);
    w.real(g.lastActiveMs);
    w.number(g.mutatorNames.size());
    for (const std::string& name : g.mutatorNames) w.bytes(name);
  }
  return w.finish('g');
}

std::optional<std::vector<GroupEntry>> decodeRegistry(std::string_view text, RecordProblem* problem) {
  std::optional<std::string_view> payload = unframe(text, 'g', problem);
  if (!payload) return std::nullopt;
  std::string_view in = *payload;
  uint64_t count = 0;
  auto bad = [&](const char* what) {
    corrupt(problem, what);
    return std::nullopt;
  };
  if (!readNumber(in, &count) || count > in.size()) return bad("registry count");
  std::vector<GroupEntry> groups;
  for (uint64_t i = 0; i < count; ++i) {
    GroupEntry g;
    uint64_t names = 0;
    if (!readString(in, &g.id) || !readString(in, &g.schemaVersion) || !readReal(in, &g.lastActiveMs) ||
        !readNumber(in, &names) || names > in.size()) {
      return bad("registry group");
    }
    for (uint64_t j = 0; j < names; ++j) {
      std::string name;
      if (!readString(in, &name)) return bad("registry mutator");
      g.mutatorNames.push_back(std::move(name));
    }
    groups.push_back(std::move(g));
  }
  if (!in.empty()) return bad("registry tail");
  return groups;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
