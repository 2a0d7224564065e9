// libFuzzer target: the records a client reads back from its store
// (store_format.h) and from localStorage (unload journals). A store's
// contents are not trusted: a torn write, a disk error, another program or
// a script of the same origin may have changed them. The first input byte
// picks the record kind; the rest is its payload, framed here with a valid
// checksum so that the fuzzer reaches the decoders (a random frame almost
// never passes the checksum). Nothing crashes; a record that decodes
// encodes again to one that decodes to the same thing; a journal's ids
// ascend by one; Persister::takeJournal never takes an id twice.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/persister.h"
#include "replicore/store_format.h"
#include "fuzz/fuzz_check.h"

using namespace replicore;

namespace {
using fuzz::check;

bool sameMutations(const std::vector<Mutation>& a, const std::vector<Mutation>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].clientID != b[i].clientID || a[i].id != b[i].id || a[i].name != b[i].name ||
        a[i].args->text() != b[i].args->text() || !(a[i].timestamp == b[i].timestamp)) {
      return false;
    }
  }
  return true;
}

void journal(std::string_view record) {
  RecordProblem problem;
  std::string client;
  std::optional<std::vector<Mutation>> mutations = decodeJournal(record, &client, &problem);
  if (!mutations) {
    check(problem.kind != RecordError::kNone, "a refused journal says why");
    return;
  }
  check(!client.empty(), "a journal names its client");
  for (size_t i = 0; i < mutations->size(); ++i) {
    check((*mutations)[i].id == (*mutations)[0].id + i, "journal ids ascend by one");
    check((*mutations)[i].clientID == client, "journal mutations are its client's");
  }
  std::string again = encodeJournal(client, *mutations);
  std::string client2;
  std::optional<std::vector<Mutation>> back = decodeJournal(again, &client2, &problem);
  check(back && client2 == client && sameMutations(*back, *mutations), "a journal round-trips");
  // Taken twice, by a client of the group: each id once.
  ReplicaOptions options;
  options.clientID = "fuzz-client";
  options.clientGroupID = "G";
  Replica replica(options);
  Persister persister(&replica, "G");
  std::optional<std::vector<Mutation>> first = persister.takeJournal(record, &problem);
  std::optional<std::vector<Mutation>> second = persister.takeJournal(record, &problem);
  check(first && second, "a journal that decodes is taken");
  check(client == "fuzz-client" || first->size() == mutations->size(), "a journal's mutations are taken");
  check(second->empty(), "a journal taken twice gives nothing the second time");
  check(persister.journalsPending() == !first->empty(), "taken mutations wait to be stored");
}

void head(std::string_view record) {
  RecordProblem problem;
  std::optional<Head> h = decodeHead(record, &problem);
  if (!h) {
    check(problem.kind != RecordError::kNone, "a refused head says why");
    return;
  }
  std::string again = encodeHead(*h);
  std::optional<Head> back = decodeHead(again, &problem);
  check(back && encodeHead(*back) == again, "a head round-trips");
}

void registry(std::string_view record) {
  RecordProblem problem;
  std::optional<std::vector<GroupEntry>> groups = decodeRegistry(record, &problem);
  if (!groups) {
    check(problem.kind != RecordError::kNone, "a refused registry says why");
    return;
  }
  std::string again = encodeRegistry(*groups);
  std::optional<std::vector<GroupEntry>> back = decodeRegistry(again, &problem);
  check(back && encodeRegistry(*back) == again, "a registry round-trips");
}

void page(std::string_view record) {
  RecordProblem problem;
  std::vector<std::pair<std::string, std::string>> entries;
  bool ok = decodePage(record, 1, "", std::nullopt,
                       [&](std::string_view k, std::string_view v) { entries.emplace_back(k, v); }, &problem);
  if (!ok) {
    check(problem.kind != RecordError::kNone && entries.empty(), "a refused page hands out nothing");
    return;
  }
  for (size_t i = 1; i < entries.size(); ++i) check(entries[i - 1].first < entries[i].first, "page keys ascend");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Low bit: framed here (reaches the decoder), or taken as the whole record.
  bool framed = (data[0] & 1) == 0;
  switch ((data[0] >> 1) % 4) {
    case 0:
      journal(framed ? store_detail::frame('j', payload) : std::string(payload));
      break;
    case 1:
      head(framed ? store_detail::frame('h', payload) : std::string(payload));
      break;
    case 2:
      registry(framed ? store_detail::frame('g', payload) : std::string(payload));
      break;
    default:
      page(framed ? store_detail::frame('p', payload) : std::string(payload));
      break;
  }
  return 0;
}
