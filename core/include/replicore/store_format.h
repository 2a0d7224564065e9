// The persisted format: the records a client group keeps in a key-value
// store (IndexedDB, memory, or an app's own kvStore), and how each is
// encoded and checked.
//
// One store holds every client group of one app `name`:
//   "groups"          the registry: which group serves which schemaVersion
//                     and mutator names, and when each was last used
//   "g/<G>/h0", "h1"  group G's two head slots (see Head)
//   "g/<G>/p<n>"      a page: a sorted run of confirmed entries
//   "g/<G>/m<n>"      a chunk: pending mutations of one client, in order
//
// Every record is text (valid UTF-8 when its keys and values are, so it
// can cross to JavaScript and into any store as a string; IndexedDB and
// memory stores keep its UTF-8 bytes instead, and a reader takes either:
// wasm/js/records.js) and carries the
// format version, its kind and a checksum of its payload, so a torn,
// truncated, corrupted or foreign record is detected, never half-used.
// Pages and chunks are immutable once written: a changed page is written
// under a new number, and the head names the numbers that make up a state.
// That is what makes a write all or nothing even on a store that could stop
// halfway through a batch (see persister.h for the order of a batch).
#ifndef REPLICORE_STORE_FORMAT_H_
#define REPLICORE_STORE_FORMAT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replicore/protocol.h"
#include "replicore/value.h"

namespace replicore {

// The version every record is written with. A reader refuses records of
// another version (RecordError::kVersion): an older one is discarded, a
// newer one is left alone (a newer replicore wrote it).
constexpr int kStoreFormatVersion = 1;

std::string groupRegistryKey();
std::string headKey(const std::string& group, int slot);
std::string pageKey(const std::string& group, uint64_t number);
std::string chunkKey(const std::string& group, uint64_t number);

// A page of the confirmed state, as the head lists it. Page i holds the
// entries from its firstKey up to the next page's firstKey (the first
// page's firstKey is "").
struct PageRef {
  uint64_t number = 0;
  std::string firstKey;
  uint64_t bytes = 0;  // of its entries' keys and values
};

// A chunk of one client's pending mutations: ids firstID..lastID.
struct ChunkRef {
  uint64_t number = 0;
  uint64_t firstID = 0;
  uint64_t lastID = 0;
};

// What the group knows of one of its clients.
struct ClientRecord {
  double lastActiveMs = 0;      // wall clock of its last write
  std::vector<ChunkRef> chunks;  // its unconfirmed mutations, in order
};

// A group head: one consistent state of the group. The store keeps two
// slots; a writer reads both, writes the next state into the slot of the
// older one, and a reader takes the valid head with the higher seq. So a
// torn head write leaves the previous head in place.
struct Head {
  uint64_t seq = 0;
  uint64_t nextNumber = 1;  // the next page or chunk number to use
  Cookie cookie;
  std::map<std::string, uint64_t> lastMutationIDs;
  std::vector<PageRef> pages;  // by firstKey
  std::map<std::string, ClientRecord> clients;
};

// One client group of the registry.
struct GroupEntry {
  std::string id;
  std::string schemaVersion;
  std::vector<std::string> mutatorNames;  // sorted
  double lastActiveMs = 0;
};

// Why a record could not be used.
enum class RecordError {
  kNone,
  kMissing,  // not in the store
  kVersion,  // another format version
  kCorrupt,  // bad checksum, bad framing, or contents that break a rule
};

struct RecordProblem {
  RecordError kind = RecordError::kNone;
  int version = 0;  // for kVersion: the version found
  std::string message;
};

std::string encodeHead(const Head& head);
// The head that `text` holds, or nullopt with *problem set.
std::optional<Head> decodeHead(std::string_view text, RecordProblem* problem);

// `entries` sorted by key, values as JSON text.
std::string encodePage(uint64_t number, const std::vector<std::pair<std::string_view, std::string_view>>& entries);
// Calls `entry(key, valueText)` for each entry of page `number`, in order,
// after the whole record has been checked (a bad record calls it never).
// Checks that the keys ascend strictly from `firstKey` and stay below
// `endKey` (when given). Returns false with *problem set otherwise.
template <typename F>
bool decodePage(std::string_view text, uint64_t number, std::string_view firstKey,
                const std::optional<std::string_view>& endKey, F&& entry, RecordProblem* problem);

// A record ready to be written, as the pieces of text it is made of, in
// order. A chunk holds each large mutation's args as a piece of its own, the
// text the mutation keeps, instead of a copy: a store that takes bytes
// copies the pieces once into what it keeps (wasm/js/records.js,
// unpackPlan), so a 10 MB mutation is not copied into a 10 MB record first.
// Most records are one piece. A copy shares the kept args (they are
// immutable) and copies the rest.
class StoreRecord {
 public:
  StoreRecord() = default;        // no pieces: an empty record
  StoreRecord(std::string text);  // implicit: a record of one piece
  void append(std::string text);
  // A piece that is `value`'s text, kept by holding `value`.
  void append(ValuePtr value);

  size_t size() const { return size_; }
  size_t pieceCount() const { return pieces_.size(); }
  // Piece i, valid while this record lives.
  std::string_view piece(size_t i) const {
    const Piece& p = pieces_[i];
    return p.kept ? std::string_view(p.kept->text()) : std::string_view(p.owned);
  }
  // The whole record as one string: a copy of every piece.
  std::string text() const;

 private:
  struct Piece {
    std::string owned;
    ValuePtr kept;  // when set, the piece is its text
  };
  std::vector<Piece> pieces_;
  size_t size_ = 0;
};

// Chunk records keep args of at least this many bytes as pieces of their
// own. Below it a piece costs more than the copy it saves.
constexpr size_t kChunkArgsPieceBytes = 64 * 1024;

StoreRecord encodeChunk(uint64_t number, const std::string& clientID, const std::vector<Mutation>& mutations);
// The mutations of chunk `number` of `clientID`, or nullopt with *problem
// set. Their ids must ascend by one from `ref.firstID` to `ref.lastID`.
std::optional<std::vector<Mutation>> decodeChunk(std::string_view text, const ChunkRef& ref,
                                                 const std::string& clientID, RecordProblem* problem);

// A journal: the mutations of one client that its page could not be sure
// to have stored as it unloaded (WebKit drops an IndexedDB write issued
// then), written at once to a synchronous store (localStorage) and merged
// into the group by the next client that opens (Persister::takeJournal).
// Ids ascend by one.
std::string encodeJournal(const std::string& clientID, const std::vector<Mutation>& mutations);
// The journal's client in *clientID and its mutations, or nullopt with
// *problem set.
std::optional<std::vector<Mutation>> decodeJournal(std::string_view text, std::string* clientID,
                                                   RecordProblem* problem);

std::string encodeRegistry(const std::vector<GroupEntry>& groups);
std::optional<std::vector<GroupEntry>> decodeRegistry(std::string_view text, RecordProblem* problem);

// --- Framing, for decodePage --------------------------------------------------
namespace store_detail {
// The record of `kind` holding `payload`: version, kind, checksum, payload.
std::string frame(char kind, std::string_view payload);
// frame()'s text before the payload (its size depends on the version only).
std::string frameHeader(char kind, std::string_view payload);
std::string frameHeader(char kind, uint64_t payloadChecksum);
// The checksum a frame carries for the payload made of `pieces`, in order:
// the same as for their concatenation.
uint64_t payloadChecksum(const std::vector<std::string_view>& pieces);
// Checks the frame of `text` (version, kind, checksum) and returns the
// payload, or nullopt with *problem set.
std::optional<std::string_view> unframe(std::string_view text, char kind, RecordProblem* problem);
// Reads `<decimal>` then a space.
bool readNumber(std::string_view& in, uint64_t* out);
// Reads `<length>:<bytes>`.
bool readBytes(std::string_view& in, std::string_view* out);
bool corrupt(RecordProblem* problem, const char* what);
}  // namespace store_detail

template <typename F>
bool decodePage(std::string_view text, uint64_t number, std::string_view firstKey,
                const std::optional<std::string_view>& endKey, F&& entry, RecordProblem* problem) {
  using namespace store_detail;
  std::optional<std::string_view> payload = unframe(text, 'p', problem);
  if (!payload) return false;
  std::string_view in = *payload;
  uint64_t n = 0, count = 0;
  if (!readNumber(in, &n) || n != number) return corrupt(problem, "page number");
  if (!readNumber(in, &count) || count > in.size()) return corrupt(problem, "page count");
  // Check first, then hand out: a bad page hands out nothing.
  std::string_view scan = in;
  std::string_view last;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key, value;
    if (!readBytes(scan, &key) || !readBytes(scan, &value)) return corrupt(problem, "page entry");
    if ((i == 0 && key < firstKey) || (i > 0 && key <= last) || (endKey && key >= *endKey)) {
      return corrupt(problem, "page key order");
    }
    last = key;
  }
  if (!scan.empty()) return corrupt(problem, "page tail");
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key, value;
    readBytes(in, &key);
    readBytes(in, &value);
    entry(key, value);
  }
  return true;
}

}  // namespace replicore

#endif  // REPLICORE_STORE_FORMAT_H_
