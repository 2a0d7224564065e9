// Allocation failure inside the core, driven the way the WebAssembly package
// drives it (values as JSON text, the staged beginMutation/beginRebase API,
// replays run by the host). Every allocation of a pull (parse, patch,
// replay, finish) and of a mutation is made to fail in turn. Each
// std::bad_alloc must leave the replica consistent: its state, cookie,
// lmids and pending mutations untouched, or, when only a replayed
// mutator's write failed, the pull applied with that mutation still
// pending. And the replica must go on working: a C++ caller can survive
// running out of memory. (The WebAssembly package is built without C++
// exceptions by default and refuses what it cannot hold before it
// allocates: wasm/CMakeLists.txt, REPLICORE_WASM_EXCEPTIONS.)
//
// Its own executable: it replaces the global operator new. No nlohmann
// values take part: nlohmann's destructor allocates, so a failure injected
// there would terminate (the package does not use nlohmann).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "replicore/json_text.h"
#include "replicore/protocol.h"
#include "replicore/replica.h"
#include "support/replica_util.h"

namespace {

// When armed, the allocation numbered `failAt` (counting from 0 after
// arming) throws std::bad_alloc; every other allocation succeeds.
long failAt = -1;
long allocations = 0;
bool injected = false;

void* allocate(std::size_t n) {
  if (failAt >= 0 && allocations++ == failAt) {
    injected = true;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace replicore {
namespace {

using namespace replicore::testing;

// Arms the failure for the lifetime of the object.
struct FailAllocation {
  explicit FailAllocation(long n) {
    allocations = 0;
    injected = false;
    failAt = n;
  }
  ~FailAllocation() { failAt = -1; }
};

// Everything a failed operation must leave untouched, as text: reading a
// value's JSON would cache an nlohmann parse in it (see the top).
struct Snapshot {
  std::vector<std::pair<std::string, std::string>> state;
  std::string cookie;
  std::map<std::string, uint64_t> lmids;
  std::vector<std::string> pending;
  explicit Snapshot(const Replica& r) : cookie(r.cookie().text()), lmids(r.lastMutationIDs()) {
    r.read()->scanEach(ScanOptions{}, [&](const std::string& key, const ValuePtr& v) {
      state.emplace_back(key, v->text());
      return true;
    });
    for (const auto& m : r.pendingMutations()) {
      pending.push_back(m.clientID + "/" + std::to_string(m.id) + " " + m.name + " " + m.args->text());
    }
  }
  bool operator==(const Snapshot& o) const {
    return state == o.state && cookie == o.cookie && lmids == o.lmids && pending == o.pending;
  }
};

std::string Dump(const Snapshot& s) {
  std::string out;
  for (const auto& [k, v] : s.state) out += k + "=" + v + " ";
  return out + "cookie " + s.cookie;
}

std::string TextOf(const Replica& r, const std::string& key) {
  ValuePtr v = r.read()->get(key);
  return v ? v->text() : "<absent>";
}

// A "put" mutation with text args {"key": k, "value": v}, as the package
// commits one (values never parsed).
void Put(Replica& r, const std::string& key, const std::string& valueText, double timestamp) {
  std::string args = "{\"key\":";
  appendJsonString(args, key);
  args += ",\"value\":" + valueText + "}";
  std::unique_ptr<PendingWrite> w = r.beginMutation("put", Value::fromText(std::move(args)), timestamp);
  w->tx().set(key, Value::fromText(valueText));
  w->commit();
}

// The host's side of a pull, as the binding and its JavaScript run it:
// parse the body, rebase, replay each pending "put" (a failed write is that
// mutation's replay error), finish. Returns how many replays failed.
int ApplyPull(Replica& r, const std::string& body) {
  ParsedPull parsed = parsePullResponse(body);
  if (!parsed.result) throw std::runtime_error("bad test pull: " + parsed.error);
  PullOutcome outcome;
  std::unique_ptr<Rebase> rebase = r.beginRebase(std::get<PullSuccess>(*parsed.result), r.cookie(), &outcome);
  if (!rebase) throw std::runtime_error("pull not applied: " + outcome.error);
  int replayFailures = 0;
  while (const Mutation* m = rebase->next()) {
    try {
      std::vector<JsonMember> args;
      if (!readJsonObject(m->args->text(), 8, &args) || args.size() != 2) throw std::runtime_error("bad args");
      rebase->tx().set(*readJsonString(args[0].value), Value::fromText(std::string(args[1].value)));
    } catch (const std::exception& e) {
      // The JavaScript mutator threw: the binding's rebaseFailed.
      rebase->failed(e.what());
      replayFailures++;
      continue;
    }
    rebase->succeeded();
  }
  PullOutcome done = rebase->finish();
  if (done.kind != PullOutcome::Kind::kApplied) throw std::runtime_error("pull not applied: " + done.error);
  return replayFailures;
}

const char kFirstPull[] =
    R"({"cookie":1,"lastMutationIDChanges":{},"patch":[)"
    R"({"op":"put","key":"a","value":1},{"op":"put","key":"b","value":{"x":[1,2]}},)"
    R"({"op":"put","key":"c","value":{"keep":true}}]})";
// Confirms the first pending mutation, so the other two are replayed.
const char kNextPull[] =
    R"({"cookie":2,"lastMutationIDChanges":{"c1":1},"patch":[)"
    R"({"op":"put","key":"a","value":11},{"op":"del","key":"b"},)"
    R"({"op":"update","key":"c","merge":{"y":2}},{"op":"put","key":"new","value":"n"}]})";

// A replica with confirmed data and three pending mutations.
std::unique_ptr<Replica> MakeReplica() {
  auto r = std::make_unique<Replica>(Options("c1"));
  ApplyPull(*r, kFirstPull);
  Put(*r, "a", "100", 1);
  Put(*r, "p", R"({"pending":[1]})", 2);
  Put(*r, "q", R"("q")", 3);
  return r;
}

TEST(AllocationFailure, APullThatCannotAllocateLeavesTheReplicaWholeAndWorking) {
  // What the pull does when nothing fails.
  auto reference = MakeReplica();
  const Snapshot before(*reference);
  ASSERT_EQ(ApplyPull(*reference, kNextPull), 0);
  const Snapshot after(*reference);
  ASSERT_FALSE(before == after);
  ASSERT_EQ(after.pending.size(), 2u);

  int failures = 0, refused = 0, replayErrors = 0;
  for (long n = 0;; n++) {
    auto r = MakeReplica();
    ASSERT_TRUE(Snapshot(*r) == before);
    bool threw = false;
    int replayFailures = 0;
    {
      FailAllocation fail(n);
      try {
        replayFailures = ApplyPull(*r, kNextPull);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
    }
    if (!injected) break;  // every allocation of the pull has failed once
    failures++;
    const Snapshot now(*r);
    if (threw) {
      // Refused: nothing changed, and the same pull then applies in full.
      ASSERT_TRUE(now == before) << "allocation " << n << " left a partly applied pull: " << Dump(now);
      refused++;
      ASSERT_EQ(ApplyPull(*r, kNextPull), 0) << "after allocation " << n;
      ASSERT_TRUE(Snapshot(*r) == after) << "after allocation " << n << ": " << Dump(Snapshot(*r));
    } else {
      // Applied; a failed replay only leaves its mutation pending without
      // its effect until the next rebase.
      ASSERT_EQ(now.cookie, after.cookie) << "allocation " << n;
      ASSERT_EQ(now.lmids, after.lmids) << "allocation " << n;
      ASSERT_EQ(now.pending, after.pending) << "allocation " << n << ": pending mutations lost";
      if (replayFailures == 0) ASSERT_TRUE(now == after) << "allocation " << n << ": " << Dump(now);
      else replayErrors++;
    }
    // The replica goes on: a mutation commits on top.
    Put(*r, "z", std::to_string(n), 4);
    ASSERT_EQ(TextOf(*r, "z"), std::to_string(n));
    ASSERT_EQ(r->pendingMutations().size(), after.pending.size() + 1);
  }
  EXPECT_GT(failures, 50) << "a pull with a rebase allocates many times";
  EXPECT_GT(refused, 0);
  EXPECT_GT(replayErrors, 0);
}

TEST(AllocationFailure, AMutationThatCannotAllocateCommitsNothing) {
  auto reference = MakeReplica();
  const Snapshot before(*reference);
  Put(*reference, "m", R"({"big":"value"})", 4);
  const Snapshot after(*reference);

  int failures = 0;
  for (long n = 0;; n++) {
    auto r = MakeReplica();
    bool threw = false;
    {
      FailAllocation fail(n);
      try {
        Put(*r, "m", R"({"big":"value"})", 4);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
    }
    if (!injected) break;
    failures++;
    ASSERT_TRUE(threw) << "allocation " << n << " failed without an error";
    ASSERT_TRUE(Snapshot(*r) == before) << "allocation " << n << " left a partly committed mutation";
    // The same mutation then commits as if nothing had happened.
    Put(*r, "m", R"({"big":"value"})", 4);
    ASSERT_TRUE(Snapshot(*r) == after) << "after allocation " << n;
  }
  EXPECT_GT(failures, 5);
}

}  // namespace
}  // namespace replicore
