// SyncScheduler and Client over a virtual clock and a fake transport: when
// requests go out, retries and backoff, auth, online status, and stopping.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replicore/client.h"
#include "replicore/scheduler.h"
#include "support/fake_clock.h"
#include "support/fake_transport.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

using namespace replicore::testing;

const char* kPush = "https://example.test/push";
const char* kPull = "https://example.test/pull";

std::string PullOK(Json cookie, Json lmids = Json::object(), Json patch = Json::array()) {
  return Json{{"cookie", cookie}, {"lastMutationIDChanges", lmids}, {"patch", patch}}.dump();
}

struct FakeHost : SyncHost {
  std::vector<Mutation> pending;
  Cookie cookie;
  std::vector<PullSuccess> applied;
  std::vector<Cookie> requestCookies;
  std::string applyError;

  RequestIdentity identity() override { return {"prof", "grp", "sv"}; }
  std::vector<Mutation> mutationsToPush() override { return pending; }
  Cookie confirmedCookie() override { return cookie; }
  void applyPull(PullSuccess response, Cookie requestCookie, std::function<void(std::string)> done) override {
    applied.push_back(response);
    requestCookies.push_back(requestCookie);
    if (applyError.empty()) cookie = response.cookie;
    done(applyError);
  }
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : net(&clock) {
    opts.pushURL = kPush;
    opts.pullURL = kPull;
    opts.clientID = "cid";
    opts.sessionHex = "5e55";
    opts.pullIntervalMs = std::nullopt;  // most tests: no interval
    cb.onOnlineChange = [this](bool o) { online.push_back(o); };
    cb.onSync = [this](bool s) { syncs.push_back(s); };
    cb.onClientStateNotFound = [this] { ++notFound; };
    cb.onUpdateNeeded = [this](const std::string& t) { updates.push_back(t); };
    cb.onError = [this](const std::string& which, const std::string& m, bool repeated) {
      errors.push_back(which + ": " + m);
      if (repeated) ++repeats;
    };
  }
  void make() { s = std::make_unique<SyncScheduler>(opts, cb, &host, &clock, &net); }
  void addMutation() {
    uint64_t id = host.pending.size() + 1;
    host.pending.push_back({"cid", id, "m", Value::make(Json{{"n", id}}), clock.nowMs()});
    s->mutationAdded();
  }
  size_t pushes() const { return net.countURL("/push"); }
  size_t pulls() const { return net.countURL("/pull"); }

  FakeClock clock;
  FakeTransport net;
  FakeHost host;
  SchedulerOptions opts;
  SchedulerCallbacks cb;
  std::unique_ptr<SyncScheduler> s;
  std::vector<bool> online, syncs;
  int notFound = 0;
  int repeats = 0;
  std::vector<std::string> updates, errors;
};

TEST_F(SchedulerTest, PushesPushDelayAfterAMutation) {
  opts.pushDelayMs = 10;
  make();
  clock.advance(1000);
  EXPECT_EQ(net.count(), 0u);  // nothing before start or a mutation
  addMutation();
  clock.advance(9);
  EXPECT_EQ(net.count(), 0u);
  clock.advance(1);
  ASSERT_EQ(pushes(), 1u);
  EXPECT_EQ(net.last().json(), Json::parse(buildPushBody(host.identity(), host.pending)));
  EXPECT_EQ(net.last().request.url, kPush);
  // No automatic pull after a push.
  net.respondOpen("/push", 200, "{}");
  clock.advance(10000);
  EXPECT_EQ(net.count(), 1u);
}

TEST_F(SchedulerTest, StartPushesMutationsThatArePendingAlready) {
  // Loaded from a store: a reopened client pushes them without waiting for
  // a new mutation.
  host.pending.push_back({"old", 1, "m", Value::make(Json(1)), 0});
  make();
  clock.advance(1000);
  EXPECT_EQ(net.count(), 0u);
  s->start();
  EXPECT_EQ(pulls(), 1u);
  ASSERT_EQ(pushes(), 1u);
  EXPECT_EQ(net.last().json()["mutations"][0]["clientID"], "old");
}

TEST_F(SchedulerTest, MutationsWithinTheDelayShareOnePush) {
  make();
  addMutation();
  clock.advance(5);
  addMutation();
  addMutation();
  clock.advance(5);
  ASSERT_EQ(pushes(), 1u);
  EXPECT_EQ(net.last().json()["mutations"].size(), 3u);
}

TEST_F(SchedulerTest, AtMostOnePushInFlight) {
  make();
  addMutation();
  clock.advance(10);
  ASSERT_EQ(pushes(), 1u);
  for (int i = 0; i < 5; ++i) {
    addMutation();
    clock.advance(100);
  }
  EXPECT_EQ(pushes(), 1u);
  EXPECT_EQ(net.open("/push").size(), 1u);
  net.respondOpen("/push", 200);
  clock.advance(10);
  ASSERT_EQ(pushes(), 2u);  // exactly one more, carrying everything pending
  EXPECT_EQ(net.last().json()["mutations"].size(), 6u);
  net.respondOpen("/push", 200);
  clock.advance(10000);
  EXPECT_EQ(pushes(), 2u);
}

TEST_F(SchedulerTest, NothingToPushSendsNothing) {
  make();
  s->mutationAdded();  // host has no pending mutations
  s->push();
  clock.advance(1000);
  EXPECT_EQ(net.count(), 0u);
  opts.pushURL = "";
  make();
  addMutation();
  clock.advance(1000);
  EXPECT_EQ(net.count(), 0u);
}

TEST_F(SchedulerTest, PullsAtStartAndAppliesTheResponse) {
  make();
  EXPECT_EQ(net.count(), 0u);
  s->start();
  clock.runDue();
  ASSERT_EQ(pulls(), 1u);
  EXPECT_EQ(net.last().json(), Json::parse(buildPullBody(host.identity(), nullptr)));
  net.respondOpen("/pull", 200, PullOK(5, {{"cid", 1}}));
  ASSERT_EQ(host.applied.size(), 1u);
  EXPECT_EQ(host.applied[0].cookie.json(), 5);
  EXPECT_EQ(host.applied[0].lastMutationIDChanges.at("cid"), 1u);
  EXPECT_TRUE(host.requestCookies[0].isNull());
  // The next pull carries the new confirmed cookie.
  s->pull();
  clock.runDue();
  ASSERT_EQ(pulls(), 2u);
  EXPECT_EQ(net.last().json()["cookie"], 5);
  net.respondOpen("/pull", 200, PullOK(6));
  EXPECT_EQ(host.requestCookies[1], 5);
  // start() twice does not pull twice.
  s->start();
  clock.runDue();
  EXPECT_EQ(pulls(), 2u);
}

TEST_F(SchedulerTest, PokesDuringAPullCoalesceIntoExactlyOneMorePull) {
  make();
  s->start();
  clock.runDue();
  ASSERT_EQ(pulls(), 1u);
  s->poke();
  s->poke();
  s->pull();
  s->poke();
  clock.advance(100);
  EXPECT_EQ(pulls(), 1u);
  EXPECT_EQ(net.open("/pull").size(), 1u);
  net.respondOpen("/pull", 200, PullOK(1));
  clock.runDue();
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 200, PullOK(2));
  clock.advance(100000);
  EXPECT_EQ(pulls(), 2u);
  // A poke when idle pulls at once.
  s->poke();
  clock.runDue();
  EXPECT_EQ(pulls(), 3u);
}

TEST_F(SchedulerTest, PushAndPullLoopsRunSideBySide) {
  make();
  s->start();
  addMutation();
  clock.advance(10);
  EXPECT_EQ(net.open("/pull").size(), 1u);
  EXPECT_EQ(net.open("/push").size(), 1u);
  EXPECT_TRUE(s->syncing());
}

TEST_F(SchedulerTest, PullsEveryPullInterval) {
  opts.pullIntervalMs = 60000;
  make();
  s->start();
  clock.runDue();
  ASSERT_EQ(pulls(), 1u);
  net.respondOpen("/pull", 200, PullOK(1));
  clock.advance(59999);
  EXPECT_EQ(pulls(), 1u);
  clock.advance(1);
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 200, PullOK(2));
  clock.advance(60000);
  EXPECT_EQ(pulls(), 3u);
  net.respondOpen("/pull", 200, PullOK(3));
  for (int i = 0; i < 5; ++i) {
    clock.advance(60000);
    ASSERT_EQ(net.open("/pull").size(), 1u);
    net.respondOpen("/pull", 200, PullOK(4 + i));
  }
  EXPECT_EQ(pulls(), 8u);
  // Interval ticks while a pull is out coalesce into one more pull.
  clock.advance(60000);
  clock.advance(60000 * 3);
  EXPECT_EQ(pulls(), 9u);
  net.respondOpen("/pull", 200, PullOK(20));
  clock.runDue();
  EXPECT_EQ(pulls(), 10u);
}

TEST_F(SchedulerTest, NoIntervalWhenNull) {
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1));
  clock.advance(10 * 60000);
  EXPECT_EQ(pulls(), 1u);
}

TEST_F(SchedulerTest, RetryBackoffDoublesFromTheStartOfTheAttemptAndResets) {
  make();
  s->start();
  clock.runDue();
  ASSERT_EQ(pulls(), 1u);
  double start = clock.nowMs();
  // Attempt 1 fails at once: retry 30 ms after it started.
  net.respondOpen("/pull", 500, "oops");
  clock.advance(29);
  EXPECT_EQ(pulls(), 1u);
  clock.advance(1);
  ASSERT_EQ(pulls(), 2u);
  EXPECT_EQ(net.last().sentAtMs, start + 30);
  // Attempt 2 takes 50 ms and fails: retry 60 ms after its start.
  clock.advance(50);
  net.respondOpen("/pull", 503);
  clock.advance(9);
  EXPECT_EQ(pulls(), 2u);
  clock.advance(1);
  ASSERT_EQ(pulls(), 3u);
  EXPECT_EQ(net.last().sentAtMs, start + 30 + 60);
  // Attempt 3 takes longer than its delay (120): retried at once.
  clock.advance(500);
  net.respondOpen("/pull", 0);
  clock.runDue();
  ASSERT_EQ(pulls(), 4u);
  // The following waits: 240, 480, ... capped at 60000.
  std::vector<double> waits;
  double prev = net.last().sentAtMs;
  for (int i = 0; i < 14; ++i) {
    net.respondOpen("/pull", 500);
    clock.runNext();
    ASSERT_EQ(net.open("/pull").size(), 1u) << i;
    waits.push_back(net.last().sentAtMs - prev);
    prev = net.last().sentAtMs;
  }
  std::vector<double> expected = {240, 480, 960, 1920, 3840, 7680, 15360, 30720,
                                  60000, 60000, 60000, 60000, 60000, 60000};
  EXPECT_EQ(waits, expected);
  // Success resets: the next failure waits 30 again.
  net.respondOpen("/pull", 200, PullOK(1));
  s->pull();
  clock.runDue();
  double t = net.last().sentAtMs;
  net.respondOpen("/pull", 500);
  clock.runNext();
  EXPECT_EQ(net.last().sentAtMs - t, 30);
}

TEST_F(SchedulerTest, RetryDelayAccessors) {
  opts.minDelayMs = 100;
  opts.maxDelayMs = 350;
  make();
  EXPECT_EQ(s->pullRetryDelayMs(), 100);
  EXPECT_EQ(s->pushRetryDelayMs(), 100);
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 500);
  EXPECT_EQ(s->pullRetryDelayMs(), 200);  // the next wait
  clock.advance(100);
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 500);
  EXPECT_EQ(s->pullRetryDelayMs(), 350);  // capped
  clock.advance(200);
  ASSERT_EQ(pulls(), 3u);
  net.respondOpen("/pull", 500);
  EXPECT_EQ(s->pullRetryDelayMs(), 350);
  EXPECT_EQ(s->pushRetryDelayMs(), 100);  // the loops back off separately
  clock.advance(350);
  ASSERT_EQ(pulls(), 4u);
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_EQ(s->pullRetryDelayMs(), 100);
}

TEST_F(SchedulerTest, PushRetriesWithBackoffToo) {
  make();
  addMutation();
  clock.advance(10);
  double t = clock.nowMs();
  net.respondOpen("/push", 500);
  clock.advance(29);
  EXPECT_EQ(pushes(), 1u);
  clock.advance(1);
  ASSERT_EQ(pushes(), 2u);
  net.respondOpen("/push", 500);
  clock.advance(59);
  EXPECT_EQ(pushes(), 2u);
  clock.advance(1);
  ASSERT_EQ(pushes(), 3u);
  EXPECT_EQ(net.last().sentAtMs, t + 90);
  net.respondOpen("/push", 200);
  clock.advance(100000);
  EXPECT_EQ(pushes(), 3u);
  // push() skips a pending retry wait.
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 500);
  s->push();
  clock.runDue();
  EXPECT_EQ(pushes(), 5u);
}

TEST_F(SchedulerTest, PullSkipsAPendingRetryWait) {
  make();
  s->start();
  clock.runDue();
  for (int i = 0; i < 6; ++i) {
    net.respondOpen("/pull", 500);
    clock.runNext();
  }
  net.respondOpen("/pull", 500);  // the next wait is 30 * 2^7
  size_t n = pulls();
  clock.advance(100);
  EXPECT_EQ(pulls(), n);
  s->poke();
  clock.runDue();
  EXPECT_EQ(pulls(), n + 1);
}

TEST_F(SchedulerTest, PullStaysInFlightUntilAnAsynchronousApplyIsDone) {
  struct LateHost : FakeHost {
    std::function<void(std::string)> pending;
    void applyPull(PullSuccess response, Cookie, std::function<void(std::string)> done) override {
      applied.push_back(response);
      cookie = response.cookie;
      pending = std::move(done);
    }
  } late;
  s = std::make_unique<SyncScheduler>(opts, cb, &late, &clock, &net);
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_TRUE(s->syncing());
  s->poke();
  clock.advance(1000);
  EXPECT_EQ(pulls(), 1u);  // still applying: no second pull yet
  ASSERT_TRUE(late.pending);
  auto done = std::move(late.pending);
  done("");
  clock.runDue();
  EXPECT_EQ(pulls(), 2u);  // the poke's pull, with the new cookie
  EXPECT_EQ(net.last().json()["cookie"], 1);
  // Syncing never stopped: no false/true flicker between the two pulls.
  EXPECT_EQ(syncs, (std::vector<bool>{true}));
  EXPECT_TRUE(s->syncing());
}

TEST_F(SchedulerTest, FailedApplyIsRetried) {
  make();
  host.applyError = "lower lmid";
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_EQ(host.applied.size(), 1u);
  clock.advance(30);
  ASSERT_EQ(pulls(), 2u);
  host.applyError.clear();
  net.respondOpen("/pull", 200, PullOK(1));
  clock.advance(100000);
  EXPECT_EQ(pulls(), 2u);
  EXPECT_EQ(host.cookie.json(), 1);
}

TEST_F(SchedulerTest, InvalidPullBodyIsAFailureAndNothingIsApplied) {
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, R"({"cookie":1,"lastMutationIDChanges":{"c":-1},"patch":[]})");
  EXPECT_TRUE(host.applied.empty());
  EXPECT_FALSE(errors.empty());
  clock.advance(30);
  EXPECT_EQ(pulls(), 2u);
}

TEST_F(SchedulerTest, PullOverTheHostsBudgetFailsUnparsedAndIsRetried) {
  size_t budget = 10;
  cb.pullBodyBudget = [&] { return budget; };
  make();
  s->start();
  clock.runDue();
  std::string body = PullOK(1);
  net.respondOpen("/pull", 200, body);
  EXPECT_TRUE(host.applied.empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "pull: pull response of " + std::to_string(body.size()) +
                           " bytes is more than the memory left can take (10 bytes)");
  EXPECT_EQ(online, std::vector<bool>{});  // the server answered: not offline
  budget = body.size();
  clock.advance(30);
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 200, body);
  ASSERT_EQ(host.applied.size(), 1u);
  EXPECT_EQ(host.cookie.json(), 1);
}

TEST_F(SchedulerTest, AuthRefreshOn401) {
  int asked = 0;
  std::function<void(std::optional<std::string>)> answer;
  cb.getAuth = [&](std::function<void(std::optional<std::string>)> a) {
    ++asked;
    answer = std::move(a);
  };
  opts.auth = "old";
  make();
  s->start();
  clock.runDue();
  EXPECT_EQ(net.last().header("Authorization"), "old");
  net.respondOpen("/pull", 401);
  EXPECT_EQ(asked, 1);
  clock.advance(1000);
  EXPECT_EQ(pulls(), 1u);  // waits for the refresher
  answer(std::string("tok1"));
  clock.runDue();
  ASSERT_EQ(pulls(), 2u);
  EXPECT_EQ(net.last().header("Authorization"), "tok1");
  EXPECT_EQ(s->auth(), "tok1");
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_EQ(host.applied.size(), 1u);
  // Later requests keep the new auth.
  addMutation();
  clock.advance(10);
  EXPECT_EQ(net.last().header("Authorization"), "tok1");
}

TEST_F(SchedulerTest, AuthRefreshGivesUpAfterEightRetries) {
  int asked = 0;
  cb.getAuth = [&](std::function<void(std::optional<std::string>)> a) {
    ++asked;
    a("tok" + std::to_string(asked));
  };
  make();
  s->start();
  clock.runDue();
  for (int i = 0; i < 20 && net.open("/pull").size() == 1; ++i) {
    net.respondOpen("/pull", 401);
    clock.runDue();
  }
  EXPECT_EQ(asked, 8);
  EXPECT_EQ(pulls(), 9u);  // the first request and 8 retries
  EXPECT_TRUE(net.open("/pull").empty());
  // A later success starts a fresh count.
  s->pull();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1));
  s->pull();
  clock.runDue();
  net.respondOpen("/pull", 401);
  clock.runDue();
  EXPECT_EQ(asked, 9);
  EXPECT_EQ(net.open("/pull").size(), 1u);
}

TEST_F(SchedulerTest, AuthRefresherThatGivesNothingBacksOffAndSetAuthCutsTheWait) {
  // As Replicache: a 401 with no new auth is retried with backoff, and
  // auth set by the app afterwards goes out at once.
  int asked = 0;
  cb.getAuth = [&](std::function<void(std::optional<std::string>)> a) {
    ++asked;
    a(std::nullopt);
  };
  opts.minDelayMs = 1000;
  make();
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 401);
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(s->syncing());
  clock.advance(999);
  EXPECT_EQ(pushes(), 1u);
  clock.advance(1);
  ASSERT_EQ(pushes(), 2u);  // the retry
  net.respondOpen("/push", 401);
  EXPECT_EQ(asked, 2);
  clock.advance(500);  // waiting 2000 ms now
  EXPECT_EQ(pushes(), 2u);
  s->setAuth("good");
  ASSERT_EQ(pushes(), 3u);  // at once
  EXPECT_EQ(net.last().header("Authorization"), "good");
  net.respondOpen("/push", 200);
  clock.advance(100000);
  EXPECT_EQ(pushes(), 3u);
  // Auth changed without a 401 waiting sends nothing.
  s->setAuth("other");
  EXPECT_EQ(pushes(), 3u);
}

TEST_F(SchedulerTest, A401WithoutAnAuthRefresherBacksOff) {
  opts.minDelayMs = 100;
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 401);
  clock.advance(99);
  EXPECT_EQ(pulls(), 1u);
  clock.advance(1);
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 401);
  s->setAuth("tok");
  ASSERT_EQ(pulls(), 3u);
  EXPECT_EQ(net.last().header("Authorization"), "tok");
}

TEST_F(SchedulerTest, ARepeatedFailureIsReportedAsARepeat) {
  opts.minDelayMs = 10;
  make();
  s->start();
  clock.runDue();
  for (int i = 0; i < 3; ++i) {
    net.respondOpen("/pull", 0);
    clock.advance(1000);
  }
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_EQ(repeats, 2);  // the first is news, the next two are not
  EXPECT_EQ(errors[0].find("network error: network error"), std::string::npos) << errors[0];
  net.respondOpen("/pull", 200, PullOK(1));
  s->pull();
  net.respondOpen("/pull", 0);
  EXPECT_EQ(repeats, 2);  // news again after a success
}

TEST_F(SchedulerTest, PushesLongQueuesInOrderedBatchesUnderTheLimit) {
  opts.maxPushBytes = 1000;
  make();
  for (int i = 0; i < 12; ++i) {
    uint64_t id = host.pending.size() + 1;
    host.pending.push_back({"cid", id, "m", Value::make(Json{{"text", std::string(200, 'a' + i)}}), 0});
  }
  s->push();
  std::vector<uint64_t> sent;
  for (int round = 0; round < 20 && !net.open("/push").empty(); ++round) {
    const auto& req = net.at(net.open("/push")[0]);
    EXPECT_LE(req.request.body.size(), opts.maxPushBytes);
    Json body = req.json();
    EXPECT_GE(body["mutations"].size(), 1u);
    for (const Json& m : body["mutations"]) sent.push_back(m["id"].get<uint64_t>());
    net.respondOpen("/push", 200);
  }
  // Each mutation once, in order, in several pushes.
  std::vector<uint64_t> expected;
  for (uint64_t id = 1; id <= 12; ++id) expected.push_back(id);
  EXPECT_EQ(sent, expected);
  EXPECT_GT(pushes(), 3u);
  EXPECT_FALSE(s->syncing());
  // A new round (a new mutation) starts from the oldest pending again: the
  // server skips what it has, and nothing is lost if it had lost it.
  addMutation();
  clock.advance(10);
  ASSERT_EQ(net.open("/push").size(), 1u);
  EXPECT_EQ(net.at(net.open("/push")[0]).json()["mutations"][0]["id"], 1);
}

TEST_F(SchedulerTest, AFailedBatchIsRetriedFromTheOldestPending) {
  opts.maxPushBytes = 600;
  opts.minDelayMs = 10;
  make();
  for (int i = 0; i < 6; ++i) {
    uint64_t id = host.pending.size() + 1;
    host.pending.push_back({"cid", id, "m", Value::make(Json(std::string(200, 'x'))), 0});
  }
  s->push();
  Json first = net.at(net.open("/push")[0]).json();
  net.respondOpen("/push", 200);
  ASSERT_EQ(net.open("/push").size(), 1u);
  EXPECT_GT(net.at(net.open("/push")[0]).json()["mutations"][0]["id"].get<uint64_t>(), 1u);
  net.respondOpen("/push", 500);
  clock.advance(100);
  ASSERT_EQ(net.open("/push").size(), 1u);
  EXPECT_EQ(net.at(net.open("/push")[0]).json()["mutations"], first["mutations"]);
}

TEST_F(SchedulerTest, AMutationNoPushCanCarryIsNamed) {
  opts.maxPushBytes = 500;
  make();
  Mutation small{"cid", 1, "m", Value::make(Json("ok")), 0};
  Mutation big{"cid", 1, "big", Value::make(Json(std::string(600, 'x'))), 0};
  EXPECT_EQ(s->unpushableReason(small), "");
  std::string why = s->unpushableReason(big);
  EXPECT_NE(why.find("big"), std::string::npos) << why;
  EXPECT_NE(why.find("500"), std::string::npos) << why;
  // The size named is the push's own, measured without building it.
  size_t exact = buildPushBody(host.identity(), {big}).size();
  EXPECT_NE(why.find(" is " + std::to_string(exact) + " bytes"), std::string::npos) << why;
}

TEST_F(SchedulerTest, AMutationExactlyAsLargeAsAPushMayBeIsPushable) {
  Mutation m{"cid", 7, "fits", Value::fromText("\"" + std::string(300, 'y') + "\""), 1.5};
  opts.maxPushBytes = buildPushBody(host.identity(), {m}).size();
  make();
  EXPECT_EQ(s->unpushableReason(m), "");
  opts.maxPushBytes -= 1;
  make();
  EXPECT_NE(s->unpushableReason(m), "");
}

TEST_F(SchedulerTest, OnlineStatus) {
  make();
  EXPECT_TRUE(s->online());
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 500);  // HTTP errors do not change online
  EXPECT_TRUE(s->online());
  EXPECT_TRUE(online.empty());
  clock.runNext();
  net.respondOpen("/pull", 0);  // network error
  EXPECT_FALSE(s->online());
  EXPECT_EQ(online, (std::vector<bool>{false}));
  clock.runNext();
  net.respondOpen("/pull", 0);
  EXPECT_EQ(online, (std::vector<bool>{false}));  // reported once
  clock.runNext();
  net.respondOpen("/pull", 500);  // still offline
  EXPECT_FALSE(s->online());
  clock.runNext();
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_TRUE(s->online());
  EXPECT_EQ(online, (std::vector<bool>{false, true}));
  // A 200 pull whose body is not JSON counts as offline.
  s->pull();
  clock.runDue();
  net.respondOpen("/pull", 200, "<html>captive portal</html>");
  EXPECT_FALSE(s->online());
  EXPECT_EQ(online, (std::vector<bool>{false, true, false}));
  // A successful push brings it back.
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 200);
  EXPECT_TRUE(s->online());
  EXPECT_EQ(online, (std::vector<bool>{false, true, false, true}));
  // A push network error makes it offline.
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 0);
  EXPECT_FALSE(s->online());
}

TEST_F(SchedulerTest, OnSyncReportsWhenRequestsAreInFlight) {
  make();
  s->start();
  clock.runDue();
  EXPECT_EQ(syncs, (std::vector<bool>{true}));
  EXPECT_TRUE(s->syncing());
  addMutation();
  clock.advance(10);
  EXPECT_EQ(syncs, (std::vector<bool>{true}));  // already syncing
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_EQ(syncs, (std::vector<bool>{true}));  // the push is still out
  net.respondOpen("/push", 200);
  EXPECT_EQ(syncs, (std::vector<bool>{true, false}));
  EXPECT_FALSE(s->syncing());
  s->pull();
  clock.runDue();
  net.respondOpen("/pull", 500);
  EXPECT_EQ(syncs, (std::vector<bool>{true, false, true, false}));
}

TEST_F(SchedulerTest, CoalescedRequestsDoNotFlickerOnSync) {
  make();
  addMutation();
  clock.advance(10);
  addMutation();  // one more push after this one
  net.respondOpen("/push", 200);
  ASSERT_EQ(net.open("/push").size(), 1u);
  EXPECT_EQ(syncs, (std::vector<bool>{true}));
  net.respondOpen("/push", 200);
  EXPECT_EQ(syncs, (std::vector<bool>{true, false}));
}

TEST_F(SchedulerTest, OnPullFinishedReportsEachAttempt) {
  std::vector<std::string> finished;
  cb.onPullFinished = [&](const std::string& e, bool) { finished.push_back(e); };
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 500, "down");
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_FALSE(finished[0].empty());
  clock.advance(30);
  net.respondOpen("/pull", 200, PullOK(1));
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[1], "");
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 200);
  EXPECT_EQ(finished.size(), 2u);  // pushes are not pulls
}

TEST_F(SchedulerTest, EveryPullAskedForIsAnsweredEvenWhenNoneFollows) {
  // A pull() during another pull waits for the follow-up; when the first
  // one ends syncing (ClientStateNotFound), the report says no pull
  // follows, so the host answers every waiter instead of leaving one
  // hanging. (After VersionNotSupported the follow-up runs: the test
  // below.)
  for (const char* error : {"ClientStateNotFound"}) {
    std::vector<std::pair<std::string, bool>> finished;
    cb.onPullFinished = [&](const std::string& e, bool follows) { finished.push_back({e, follows}); };
    size_t before = pulls();
    make();
    s->start();
    clock.runDue();
    s->pull();  // asked for during the first
    net.respondOpen("/pull", 200, Json{{"error", error}}.dump());
    clock.advance(100000);
    ASSERT_EQ(finished.size(), 1u) << error;
    EXPECT_FALSE(finished[0].second) << error;
    EXPECT_EQ(pulls(), before + 1) << error;
    s.reset();
  }
}

TEST_F(SchedulerTest, APullAskedForDuringAnotherIsAnsweredByTheFollowUp) {
  std::vector<bool> follows;
  cb.onPullFinished = [&](const std::string&, bool f) { follows.push_back(f); };
  make();
  s->start();
  clock.runDue();
  s->pull();
  net.respondOpen("/pull", 200, PullOK(1));
  EXPECT_EQ(follows, (std::vector<bool>{true}));
  ASSERT_EQ(net.open("/pull").size(), 1u);
  net.respondOpen("/pull", 200, PullOK(2));
  EXPECT_EQ(follows, (std::vector<bool>{true, false}));
}

TEST_F(SchedulerTest, APullOutWhenAPushFindsNoClientStateIsAnsweredOnce) {
  std::vector<bool> follows;
  cb.onPullFinished = [&](const std::string&, bool f) { follows.push_back(f); };
  make();
  s->start();
  clock.runDue();
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 200, R"({"error":"ClientStateNotFound"})");
  EXPECT_EQ(follows, (std::vector<bool>{false}));
  net.respondOpen("/pull", 200, PullOK(1));  // arrives after the stop: ignored
  EXPECT_EQ(follows, (std::vector<bool>{false}));
  EXPECT_TRUE(host.applied.empty());
}

TEST_F(SchedulerTest, TracesEachRequestWhenAsked) {
  std::vector<std::string> lines;
  cb.onTrace = [&](const std::string& l) { lines.push_back(l); };
  opts.maxPushBytes = 650;  // two of the three mutations below (about 300 bytes each)
  make();
  s->start();
  net.respondOpen("/pull", 200, PullOK(1));
  for (int i = 0; i < 3; ++i) {
    uint64_t id = host.pending.size() + 1;
    host.pending.push_back({"cid", id, "m", Value::make(Json(std::string(150, 'x'))), 0});
  }
  s->push();
  net.respondOpen("/push", 0);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "pull sent: from cookie null");
  EXPECT_EQ(lines[1].rfind("pull answered: HTTP 200, ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("push sent: 2 mutations (cid 1..2), ", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("1 more to follow"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3].rfind("push answered: no response (connection refused)", 0), 0u) << lines[3];
}

TEST_F(SchedulerTest, SettersApplyFromTheNextRequest) {
  opts.pushURL = "";
  opts.pullURL = "";
  make();
  s->start();
  addMutation();
  clock.advance(1000);
  EXPECT_EQ(net.count(), 0u);
  // URLs set later are used from then on.
  s->setPullURL("https://other.test/pull");
  s->pull();
  clock.runDue();
  ASSERT_EQ(net.count(), 1u);
  EXPECT_EQ(net.last().request.url, "https://other.test/pull");
  net.respondOpen("/pull", 200, PullOK(1));
  s->setPushURL("https://other.test/push");
  s->setPushDelay(250);
  addMutation();
  clock.advance(249);
  EXPECT_EQ(pushes(), 0u);
  clock.advance(1);
  ASSERT_EQ(pushes(), 1u);
  EXPECT_EQ(net.last().request.url, "https://other.test/push");
  net.respondOpen("/push", 200);
  // The pull interval counts from when it is set.
  clock.advance(5000);
  s->setPullInterval(1000);
  clock.advance(999);
  EXPECT_EQ(pulls(), 1u);
  clock.advance(1);
  ASSERT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 200, PullOK(2));
  clock.advance(1000);
  ASSERT_EQ(pulls(), 3u);
  net.respondOpen("/pull", 200, PullOK(3));
  s->setPullInterval(std::nullopt);
  clock.advance(100000);
  EXPECT_EQ(pulls(), 3u);
}

TEST_F(SchedulerTest, ClientStateNotFoundStopsForGood) {
  opts.pullIntervalMs = 1000;
  make();
  s->start();
  clock.runDue();
  addMutation();
  clock.advance(10);
  net.respondOpen("/pull", 200, R"({"error":"ClientStateNotFound"})");
  EXPECT_EQ(notFound, 1);
  EXPECT_TRUE(s->stopped());
  size_t n = net.count();
  net.respondOpen("/push", 500);  // the push that was out fails late: no retry
  s->poke();
  s->pull();
  s->push();
  addMutation();
  clock.advance(100000);
  EXPECT_EQ(net.count(), n);
  EXPECT_EQ(notFound, 1);
}

TEST_F(SchedulerTest, ClientStateNotFoundOnPush) {
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1));
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 200, R"({"error":"ClientStateNotFound"})");
  EXPECT_EQ(notFound, 1);
  EXPECT_TRUE(s->stopped());
  size_t n = net.count();
  s->poke();
  addMutation();
  clock.advance(100000);
  EXPECT_EQ(net.count(), n);
}

TEST_F(SchedulerTest, VersionNotSupportedAsksForAnUpdateAndDoesNotRetry) {
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 200, R"({"error":"VersionNotSupported","versionType":"pull"})");
  EXPECT_EQ(updates, (std::vector<std::string>{"pull"}));
  EXPECT_TRUE(host.applied.empty());
  clock.advance(100000);
  EXPECT_EQ(pulls(), 1u);
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 200, R"({"error":"VersionNotSupported"})");
  EXPECT_EQ(updates, (std::vector<std::string>{"pull", ""}));
  clock.advance(100000);
  EXPECT_EQ(pushes(), 1u);
  EXPECT_FALSE(s->stopped());
}

// As in Replicache: a pull asked for while one is out runs after it even
// when that one answered VersionNotSupported, and the app hears of each.
// Only retries stop (wasm/test/conformance-scenarios.js compares).
TEST_F(SchedulerTest, VersionNotSupportedStillRunsThePullAskedForMeanwhile) {
  std::vector<bool> follows;
  cb.onPullFinished = [&](const std::string&, bool f) { follows.push_back(f); };
  make();
  s->start();
  clock.runDue();
  s->pull();
  net.respondOpen("/pull", 200, R"({"error":"VersionNotSupported","versionType":"schema"})");
  clock.runDue();
  EXPECT_EQ(pulls(), 2u);
  net.respondOpen("/pull", 200, R"({"error":"VersionNotSupported","versionType":"schema"})");
  EXPECT_EQ(updates, (std::vector<std::string>{"schema", "schema"}));
  EXPECT_EQ(follows, (std::vector<bool>{true, false}));
  clock.advance(100000);
  EXPECT_EQ(pulls(), 2u);
}

TEST_F(SchedulerTest, RequestHeaders) {
  cb.getAuth = [](std::function<void(std::optional<std::string>)> a) { a(std::string("fresh")); };
  make();  // auth "" by default
  s->start();
  clock.runDue();
  addMutation();
  clock.advance(10);
  net.respondOpen("/pull", 401);
  clock.runDue();
  net.respondOpen("/push", 500);
  clock.advance(30);
  ASSERT_EQ(net.count(), 4u);
  for (size_t i = 0; i < net.count(); ++i) {
    SentRequest& r = net.at(i);
    EXPECT_EQ(r.header("Content-Type"), "application/json") << i;
    EXPECT_EQ(r.headerCount("Authorization"), 1) << i;
    EXPECT_EQ(r.header("X-Replicache-RequestID"), "cid-5e55-" + std::to_string(i)) << i;
  }
  EXPECT_EQ(net.at(0).header("Authorization"), "");  // sent even when empty
  EXPECT_EQ(net.at(1).header("Authorization"), "");
  EXPECT_EQ(net.at(2).header("Authorization"), "fresh");
  EXPECT_EQ(net.at(3).header("Authorization"), "fresh");
  EXPECT_EQ(net.at(2).request.url, kPull);
  net.respondOpen("/pull", 200, PullOK(1));
  s->setAuth("set");
  s->pull();
  clock.runDue();
  EXPECT_EQ(net.last().header("Authorization"), "set");
}

TEST_F(SchedulerTest, CloseStopsEverythingAndIgnoresLateResponses) {
  opts.pullIntervalMs = 1000;
  make();
  s->start();
  clock.runDue();
  addMutation();
  clock.advance(10);
  addMutation();  // will push again after the one in flight
  size_t n = net.count();
  size_t syncCalls = syncs.size();
  s->close();
  EXPECT_TRUE(s->closed());
  net.respondOpen("/pull", 200, PullOK(1));
  net.respondOpen("/push", 0);
  EXPECT_TRUE(host.applied.empty());
  EXPECT_TRUE(online.empty());
  s->poke();
  s->pull();
  s->push();
  s->start();
  addMutation();
  clock.advance(1000000);
  EXPECT_EQ(net.count(), n);
  EXPECT_EQ(clock.pendingTimers(), 0u);
  EXPECT_EQ(syncs.size(), syncCalls);
}

TEST_F(SchedulerTest, CloseCancelsAWaitingRetry) {
  make();
  s->start();
  clock.runDue();
  net.respondOpen("/pull", 500);
  EXPECT_EQ(clock.pendingTimers(), 1u);
  s->close();
  clock.advance(100000);
  EXPECT_EQ(pulls(), 1u);
}

TEST_F(SchedulerTest, ResponsesAfterDestructionAreIgnored) {
  std::function<void(std::optional<std::string>)> answer;
  cb.getAuth = [&](std::function<void(std::optional<std::string>)> a) { answer = std::move(a); };
  make();
  s->start();
  clock.runDue();
  addMutation();
  clock.advance(10);
  net.respondOpen("/push", 401);
  ASSERT_TRUE(answer);
  s.reset();
  net.respondOpen("/pull", 200, PullOK(1));
  answer(std::string("late"));
  clock.advance(100000);
  EXPECT_TRUE(host.applied.empty());
  EXPECT_EQ(net.count(), 2u);
}

// --- Client: Replica + SyncScheduler -------------------------------------------------

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : net(&clock) {}
  std::unique_ptr<Client> make(const std::string& id = "c1") {
    SchedulerOptions so;
    so.pushURL = kPush;
    so.pullURL = kPull;
    so.sessionHex = "ab";
    so.pullIntervalMs = std::nullopt;
    auto c = std::make_unique<Client>(Options(id), so, SchedulerCallbacks{}, &clock, &net);
    RegisterBasicMutators(c->replica());
    return c;
  }
  FakeClock clock{1000};
  FakeTransport net;
};

TEST_F(ClientTest, MutatePushPullConfirm) {
  auto c = make();
  c->scheduler().start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1, Json::object(), Json::parse(R"([{"op":"put","key":"s","value":0}])")));
  EXPECT_EQ(Get(c->replica(), "s"), 0);

  clock.advance(0.5);
  EXPECT_EQ(c->mutate("incr", {{"key", "s"}}), 1);
  EXPECT_EQ(Get(c->replica(), "s"), 1);
  clock.advance(10);
  ASSERT_EQ(net.open("/push").size(), 1u);
  Json body = net.last().json();
  EXPECT_EQ(body["clientGroupID"], "g1");
  EXPECT_EQ(body["mutations"], Json::parse(
      R"([{"clientID":"c1","id":1,"name":"incr","args":{"key":"s"},"timestamp":1000.5}])"));
  net.respondOpen("/push", 200);
  // The server pokes; the pull confirms.
  c->scheduler().poke();
  clock.runDue();
  EXPECT_EQ(net.last().json()["cookie"], 1);
  net.respondOpen("/pull", 200, PullOK(2, {{"c1", 1}}, Json::parse(R"([{"op":"put","key":"s","value":1}])")));
  EXPECT_TRUE(c->replica().pendingMutations().empty());
  EXPECT_EQ(Get(c->replica(), "s"), 1);
  EXPECT_EQ(c->replica().cookie().json(), 2);
  EXPECT_THROW(c->mutate("nope"), MutationError);
  clock.advance(100);
  EXPECT_EQ(net.countURL("/push"), 1u);  // a failed mutation pushes nothing
}

TEST_F(ClientTest, RejectedPullIsRetriedAndReplayErrorsAreKept) {
  auto c = make();
  c->replica().registerMutator("picky", [](WriteTransaction& tx, const Json&) {
    if (tx.has("stop")) throw std::runtime_error("stopped");
    tx.set("picky", Json(1));
    return Json();
  });
  c->scheduler().start();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(1, {{"c1", 0}}));
  c->mutate("picky");
  clock.advance(10);
  net.respondOpen("/push", 500);
  // A pull with the stop key: picky fails on replay.
  c->scheduler().pull();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(2, Json::object(), Json::parse(R"([{"op":"put","key":"stop","value":1}])")));
  ASSERT_EQ(c->replayErrors().size(), 1u);
  EXPECT_EQ(c->replayErrors()[0].name, "picky");
  EXPECT_EQ(c->replica().pendingMutations().size(), 1u);
  // A pull whose cookie goes back (without a clear) is rejected, so the
  // scheduler retries it.
  c->scheduler().pull();
  clock.runDue();
  size_t before = net.countURL("/pull");
  net.respondOpen("/pull", 200, PullOK(3, {{"c1", 0}}));
  EXPECT_EQ(c->replica().cookie().json(), 3);  // lmid 0 == 0 is fine
  c->replica().mutate("put", {{"key", "x"}, {"value", 1}}, 0);
  c->scheduler().pull();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(4, {{"c1", 1}}));
  c->scheduler().pull();
  clock.runDue();
  net.respondOpen("/pull", 200, PullOK(2, {{"c1", 1}}));  // lower cookie
  EXPECT_EQ(c->replica().cookie().json(), 4);
  clock.advance(30);
  EXPECT_EQ(net.countURL("/pull"), before + 3);
}

// A mutation whose args hold bytes that are not UTF-8 (a JavaScript lone
// surrogate arrives as WTF-8) must not wedge the push loop: the push timer
// must not throw, and later mutations must still be pushed.
TEST_F(ClientTest, ArgsThatAreNotUtf8DoNotStopPushing) {
  auto c = make();
  c->mutate("put", {{"key", "k"}, {"value", std::string("\xed\xa0\x80")}});
  EXPECT_NO_THROW(clock.advance(10));
  EXPECT_EQ(net.countURL("/push"), 1u);
  for (size_t i : net.open("/push")) net.respond(i, 200);
  c->mutate("put", {{"key", "k2"}, {"value", "fine"}});
  EXPECT_NO_THROW(clock.advance(1000));
  EXPECT_GE(net.countURL("/push"), 2u);
}

TEST_F(ClientTest, DestroyedClientIgnoresLateResponses) {
  auto c = make();
  c->scheduler().start();
  clock.runDue();
  c->mutate("incr", {{"key", "n"}});
  clock.advance(10);
  c.reset();
  net.respondOpen("/pull", 200, PullOK(1));
  net.respondOpen("/push", 200);
  clock.advance(100000);
  EXPECT_EQ(net.count(), 2u);
}

}  // namespace
}  // namespace replicore
