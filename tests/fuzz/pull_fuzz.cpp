// libFuzzer target: a pull response body, parsed and applied to a replica
// that has a confirmed state and pending mutations. Whatever the bytes:
//  - nothing crashes, leaks or trips a sanitizer;
//  - a response that is not applied leaves the visible state, the cookie and
//    the pending mutations exactly as they were;
//  - an applied response of put/del/clear ops gives the state a plain model
//    computes: the old confirmed state with the patch applied, then the
//    mutations not confirmed replayed on it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "replicore/protocol.h"
#include "replicore/replica.h"
#include "support/replica_util.h"
#include "fuzz/fuzz_check.h"

using namespace replicore;
using namespace replicore::testing;

namespace {

using fuzz::check;

// The replica every input starts from: a confirmed state at cookie 5 and
// three pending mutations of two clients.
void setUp(Replica& r) {
  RegisterBasicMutators(r);
  PullOutcome first = r.applyPull(
      Pull(5, {{"c1", 1}, {"c2", 3}}, {PutOp("a", 1), PutOp("b", Json{{"x", 2}}), PutOp("list", Json::array({1}))}),
      Cookie());
  check(first.kind == PullOutcome::Kind::kApplied, "the setup pull applies");
  r.mutate("put", Json{{"key", "a"}, {"value", "pending"}}, 1);
  r.mutate("append", Json{{"key", "list"}, {"item", 2}}, 2);
  r.mutate("del", Json{{"key", "b"}}, 3);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  limits.maxBodyBytes = 1 << 16;
  limits.maxDepth = 64;
  ParsedPull parsed = parsePullResponse(body, limits);
  if (!parsed.result) return 0;
  auto* success = std::get_if<PullSuccess>(&*parsed.result);
  if (!success) return 0;

  Replica r(Options("c1", "g1"));
  setUp(r);
  Json before = State(r);
  Cookie cookieBefore = r.cookie();
  size_t pendingBefore = r.pendingMutations().size();
  Json confirmedBefore = Json::object();
  for (const auto& [k, v] : r.confirmed()) confirmedBefore[k] = v->json();

  PullOutcome outcome = r.applyPull(*success, r.cookie());
  if (outcome.kind != PullOutcome::Kind::kApplied) {
    check(State(r) == before, "an unapplied pull leaves the state");
    check(r.cookie() == cookieBefore, "an unapplied pull leaves the cookie");
    check(r.pendingMutations().size() == pendingBefore, "an unapplied pull leaves the queue");
    return 0;
  }
  // The cookie only grows, except in a reset: a server that lost state it
  // had confirmed answers with a clear and the whole state, and then a
  // lower cookie is taken (and reported).
  bool clears = false;
  for (const PatchOp& op : success->patch) clears = clears || op.kind == PatchOpKind::kClear;
  if (compareCookies(r.cookie(), cookieBefore) <= 0) {
    check(clears, "an applied pull without a clear moves the cookie up");
    check(outcome.reset && outcome.reset->cookieWentBack, "a cookie that went back is reported");
  }

  bool simple = true;
  Json model = confirmedBefore;
  for (const PatchOp& op : success->patch) {
    switch (op.kind) {
      case PatchOpKind::kPut:
        model[op.key] = op.value->json();
        break;
      case PatchOpKind::kDel:
        model.erase(op.key);
        break;
      case PatchOpKind::kClear:
        model = Json::object();
        break;
      case PatchOpKind::kUpdate:
        simple = false;
        break;
    }
  }
  Json confirmedAfter = Json::object();
  for (const auto& [k, v] : r.confirmed()) confirmedAfter[k] = v->json();
  if (simple) check(confirmedAfter == model, "the confirmed state is the old one with the patch");

  // Mutations the response confirms are gone; the others are still queued.
  std::map<std::string, uint64_t> lmids = {{"c1", 1}, {"c2", 3}};
  for (const auto& [c, id] : success->lastMutationIDChanges) lmids[c] = id;
  for (const Mutation& m : r.pendingMutations()) check(m.id > lmids[m.clientID], "a confirmed mutation left the queue");
  return 0;
}
