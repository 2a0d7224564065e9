// Randomized convergence: several clients in several client groups sync
// through the in-process reference server over a hostile simulated network
// (delays, reordering across clients, requests lost before or after the
// server processed them, duplicated pushes, HTTP 500s, lost pokes), all on
// the virtual clock with a seeded schedule. Once the network heals and
// everything drains, every client must show exactly the server's state with
// nothing pending, and the server must have processed every mutation a
// client made exactly once.
//
// The persistent variant gives each client group a store (tests/support/
// test_store.h): clients write to it now and then (the group commit), tabs
// of one group merge each other's mutations from it, and clients crash
// (losing what they had not written) or close, and are reopened from the
// store as a new client. Then every mutation that reached the store must
// still be processed exactly once, and nothing else ever twice.
//
// REPLICORE_SEED=<n> replays one seed; REPLICORE_SEEDS=<count> sets how many.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "replicore/client.h"
#include "replicore/persister.h"
#include "support/fake_clock.h"
#include "support/reference_server.h"
#include "support/replica_util.h"
#include "support/sim_mutators.h"
#include "support/test_store.h"

namespace replicore {
namespace {

using namespace replicore::testing;

#ifdef REPLICORE_TEST_WASM
constexpr int kDefaultSeeds = 25;
#else
constexpr int kDefaultSeeds = 200;
#endif

struct Stats {
  uint64_t requests = 0, droppedBefore = 0, droppedAfter = 0, failed500 = 0, duplicated = 0,
           pokes = 0, pokesLost = 0, localFailures = 0, mutations = 0, fullPulls = 0, writes = 0,
           crashes = 0, closes = 0, merged = 0;
};

class Simulation {
 public:
  explicit Simulation(uint64_t seed, bool persistent = false) : rng_(seed), persistent_(persistent) {
    SimMutators::registerOn(server_);
    server_.onCommit = [this] { pokeAll(); };
    // Five clients in three groups; two groups are shared by two clients.
    const std::vector<std::pair<std::string, std::string>> who = {
        {"c0", "g0"}, {"c1", "g0"}, {"c2", "g1"}, {"c3", "g2"}, {"c4", "g2"}};
    for (const auto& [id, group] : who) {
      links_.push_back(std::make_unique<Link>(this));
      clients_.emplace_back();
      persisters_.emplace_back();
      groups_.push_back(group);
      open(clients_.size() - 1, id);
    }
  }

  void run(int steps) {
    for (auto& c : clients_) c->scheduler().start();
    for (int i = 0; i < steps; ++i) {
      uint64_t roll = below(100);
      size_t index = below(clients_.size());
      Client& c = *clients_[index];
      if (persistent_ && roll < 12) {
        if (roll < 8) {
          write(index);
        } else if (roll < 10) {
          refresh(index);
        } else {
          reopen(index, /*crash=*/roll == 10);
        }
      } else if (roll < 40) {
        mutate(c);
      } else if (roll < 47) {
        c.scheduler().pull();
      } else if (roll < 50) {
        c.scheduler().push();
      } else if (roll < 95) {
        clock_.advance(static_cast<double>(below(60)));
      } else {
        clock_.advance(static_cast<double>(below(5000)));
      }
      checkInvariants();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // Heals the network and lets everything drain. The clients get one pull
  // each (as if the server poked everyone on reconnect); pushes must then go
  // out by the scheduler's own retries, and later pulls come from the
  // server's pokes. Returns whether every client caught up with the server.
  bool heal() {
    chaos_ = false;
    if (persistent_) {
      // Every tab learns the group's mutations (they would from the store).
      for (size_t i = 0; i < clients_.size(); ++i) write(i);
      for (size_t i = 0; i < clients_.size(); ++i) refresh(i);
    }
    for (auto& c : clients_) c->scheduler().pull();
    // Retry waits are at most maxDelayMs (60 s) from the failed attempt.
    for (int step = 0; step < 2500; ++step) {
      clock_.advance(100);
      if (step == 2499 && std::getenv("REPLICORE_DEBUG")) {
        for (auto& c : clients_) {
          std::printf("%s pending %zu syncing %d cookie %s lmids %s state %s\n", c->replica().options().clientID.c_str(),
                      c->replica().pendingMutations().size(), (int)c->scheduler().syncing(), c->replica().cookie().text().c_str(),
                      Json(c->replica().lastMutationIDs()).dump().c_str(), State(c->replica()).dump().substr(0, 200).c_str());
          for (auto& m : c->replica().pendingMutations()) std::printf("   %s/%llu\n", m.clientID.c_str(), (unsigned long long)m.id);
        }
        std::printf("server %llu %s\n", (unsigned long long)server_.version(), server_.state().dump().substr(0, 200).c_str());
      }
      if (settled()) {
        // Let stragglers (duplicates still on the wire, late pokes) land, then check again.
        clock_.advance(10000);
        if (settled()) return true;
      }
    }
    return false;
  }

  bool settled() {
    Json state = server_.state();
    for (auto& c : clients_) {
      if (!c->replica().pendingMutations().empty() || c->scheduler().syncing()) return false;
      if (State(c->replica()) != state) return false;
    }
    return true;
  }

  void checkFinal() {
    Json state = server_.state();
    for (auto& c : clients_) {
      const std::string& id = c->replica().options().clientID;
      SCOPED_TRACE("client " + id);
      EXPECT_TRUE(c->replica().pendingMutations().empty());
      EXPECT_EQ(State(c->replica()), state);
      EXPECT_EQ(c->replica().cookie().json(), Json(server_.version()));
      uint64_t made = 0;
      for (const auto& m : created_) made += m.first == id;
      if (made) {
        auto it = c->replica().lastMutationIDs().find(id);
        ASSERT_NE(it, c->replica().lastMutationIDs().end());
        EXPECT_EQ(it->second, made);
      }
      EXPECT_EQ(server_.lastMutationID(id), made);
    }
    // Exactly once: every processed mutation was made by a client, none twice,
    // none lost, and each client's in id order.
    std::set<std::pair<std::string, uint64_t>> processed;
    std::map<std::string, uint64_t> lastID;
    for (const auto& p : server_.log()) {
      EXPECT_TRUE(processed.insert({p.clientID, p.id}).second) << "processed twice: " << p.clientID << "/" << p.id;
      EXPECT_EQ(p.id, lastID[p.clientID] + 1) << p.clientID;
      lastID[p.clientID] = p.id;
    }
    if (persistent_) {
      // A crash loses what its client had not written, unless it was pushed
      // already; what was written is never lost.
      for (const auto& m : processed) EXPECT_TRUE(created_.count(m)) << "never made: " << m.first << "/" << m.second;
      for (const auto& m : durable_) EXPECT_TRUE(processed.count(m)) << "durable but lost: " << m.first << "/" << m.second;
    } else {
      EXPECT_EQ(processed, created_);
    }
    EXPECT_EQ(server_.protocolViolations(), 0u);
    // The schedule really was hostile (checked over many seeds by the caller).
  }

  const Stats& stats() const { return stats_; }
  const ReferenceServer& server() const { return server_; }
  size_t replayErrors() const {
    size_t n = 0;
    for (const auto& c : clients_) n += c->replayErrors().size();
    return n;
  }

 private:
  // One client's network link to the server.
  struct Link : HttpTransport {
    explicit Link(Simulation* sim) : sim(sim) {}
    void post(HttpRequest request, std::function<void(HttpResponse)> done) override {
      sim->send(std::move(request), std::move(done));
    }
    Simulation* sim;
  };

  // Makes client `index` as `clientID`, opened from its group's store.
  void open(size_t index, const std::string& clientID) {
    SchedulerOptions so;
    so.pushURL = "sim://server/push";
    so.pullURL = "sim://server/pull";
    so.sessionHex = "5eed";
    so.pushDelayMs = static_cast<double>(below(20));
    so.pullIntervalMs = chance(0.5) ? std::optional<double>() : std::optional<double>(500 + below(3000));
    so.maxDelayMs = chance(0.5) ? 60000 : 1000 + below(2000);
    auto c = std::make_unique<Client>(Options(clientID, groups_[index]), so, SchedulerCallbacks{}, &clock_,
                                      links_[index].get());
    SimMutators::registerOn(c->replica());
    if (persistent_) {
      auto p = std::make_unique<Persister>(&c->replica(), groups_[index], PersistOptions{256});
      Open(*p, c->replica(), stores_[groups_[index]]);
      persisters_[index] = std::move(p);
    }
    clients_[index] = std::move(c);
  }

  // The group commit of client `index`; what it wrote is durable.
  void write(size_t index) {
    Replica& r = clients_[index]->replica();
    TestStore& store = stores_[groups_[index]];
    StoreBatch batch = Write(*persisters_[index], store, clock_.nowMs());
    ++stats_.writes;
    for (const Mutation& m : r.pendingMutations()) {
      if (m.clientID == r.options().clientID) durable_.insert({m.clientID, m.id});
    }
    merge(index, batch.foreignChunks);
  }

  // Another tab wrote: merge what it has.
  void refresh(size_t index) {
    TestStore& store = stores_[groups_[index]];
    Persister& p = *persisters_[index];
    merge(index, p.planRefresh(store.get(p.headKey(0)), store.get(p.headKey(1))));
  }

  void merge(size_t index, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    std::vector<std::string> problems;
    std::vector<Mutation> more =
        persisters_[index]->takeForeign(keys, stores_[groups_[index]].getAll(keys), &problems);
    EXPECT_TRUE(problems.empty());
    if (more.empty()) return;
    stats_.merged += more.size();
    clients_[index]->replica().replay(std::move(more));
    clients_[index]->scheduler().push();
  }

  // The client closes (a last write) or crashes (loses what it had not
  // written), and a new client of its group opens from the store.
  void reopen(size_t index, bool crash) {
    if (crash) {
      ++stats_.crashes;
    } else {
      ++stats_.closes;
      write(index);
    }
    std::string id = "c" + std::to_string(index) + "." + std::to_string(++generation_);
    persisters_[index].reset();
    clients_[index].reset();
    open(index, id);
    clients_[index]->scheduler().start();
  }

  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }
  bool chance(double p) { return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  double latency() {
    if (chaos_ && chance(0.1)) return static_cast<double>(200 + below(3000));  // very late
    return static_cast<double>(1 + below(chaos_ ? 80 : 5));
  }

  static HttpResponse networkError() {
    HttpResponse r;
    r.status = 0;
    r.networkError = "simulated network failure";
    return r;
  }

  void send(HttpRequest request, std::function<void(HttpResponse)> done) {
    ++stats_.requests;
    bool isPush = request.url.find("push") != std::string::npos;
    if (chaos_ && chance(0.06)) {  // lost before reaching the server
      ++stats_.droppedBefore;
      clock_.setTimeout(latency(), [done] { done(networkError()); });
      return;
    }
    if (chaos_ && chance(0.06)) {  // the server answers 500 without processing
      ++stats_.failed500;
      clock_.setTimeout(latency(), [done] { done(HttpResponse{500, "overloaded", ""}); });
      return;
    }
    if (isPush && chaos_ && chance(0.08)) {  // a copy arrives again later
      ++stats_.duplicated;
      clock_.setTimeout(latency() + static_cast<double>(below(2000)),
                        [this, request] { server_.handle(request); });
    }
    if (!isPush && chance(0.1)) {
      // Answer this pull from scratch (clear + every entry, every lmid of
      // the group): as valid as a delta, and it exercises clear on rebase.
      Json body = Json::parse(request.body);
      if (!body["cookie"].is_null()) {
        body["cookie"] = nullptr;
        request.body = body.dump();
        ++stats_.fullPulls;
      }
    }
    bool lostAfter = chaos_ && chance(0.06);
    clock_.setTimeout(latency(), [this, request, done, lostAfter] {
      HttpResponse response = server_.handle(request);
      if (lostAfter) {  // processed, but the answer never arrives
        ++stats_.droppedAfter;
        response = networkError();
      }
      clock_.setTimeout(latency(), [done, response] { done(response); });
    });
  }

  void pokeAll() {
    for (size_t i = 0; i < clients_.size(); ++i) {
      ++stats_.pokes;
      if (chaos_ && chance(0.25)) {
        ++stats_.pokesLost;
        continue;
      }
      // By index: the client may have been reopened (a new one) meanwhile.
      clock_.setTimeout(static_cast<double>(below(50)), [this, i] { clients_[i]->scheduler().poke(); });
    }
  }

  void mutate(Client& c) {
    static const char* counters[] = {"n/a", "n/b", "n/c"};
    static const char* lists[] = {"list/x", "list/y"};
    std::string me = c.replica().options().clientID;
    Json args;
    std::string name;
    switch (below(8)) {
      case 0:
      case 1:
        name = "incr";
        args = {{"key", counters[below(3)]}, {"by", static_cast<int64_t>(below(7)) - 2}};
        break;
      case 2:
        name = "put";
        args = {{"key", "v/" + std::to_string(below(6))}, {"value", Json{{"by", me}, {"n", below(1000)}}}};
        break;
      case 3:
        name = "del";
        args = {{"key", "v/" + std::to_string(below(6))}};
        break;
      case 4:
        name = "append";
        args = {{"key", lists[below(2)]}, {"item", me + "#" + std::to_string(below(1000))}};
        break;
      case 5:
        name = "moveFirst";
        args = {{"from", lists[below(2)]}, {"to", lists[below(2)]}};
        break;
      case 6:
        name = "takeIfPositive";
        args = {{"key", counters[below(3)]}, {"who", me}};
        break;
      default:
        name = chance(0.5) ? "ghost" : "put";
        args = {{"key", "ghost/" + me}, {"value", 1}};
        break;
    }
    try {
      c.mutate(name, args);
    } catch (const MutationError&) {
      ++stats_.localFailures;  // e.g. nothing to take: nothing queued
      return;
    }
    ++stats_.mutations;
    const Mutation& m = c.replica().pendingMutations().back();
    EXPECT_EQ(m.clientID, me);
    EXPECT_TRUE(created_.insert({me, m.id}).second) << "mutation id reused: " << me << "/" << m.id;
  }

  void checkInvariants() {
    for (auto& c : clients_) {
      const Replica& r = c->replica();
      const std::string& me = r.options().clientID;
      auto known = r.lastMutationIDs().find(me);
      uint64_t lmid = known == r.lastMutationIDs().end() ? 0 : known->second;
      uint64_t expect = lmid + 1;
      std::map<std::string, uint64_t> lastOf;
      for (const Mutation& m : r.pendingMutations()) {
        if (m.clientID != me) {
          // Another tab's, merged from the store: in order per client.
          ASSERT_TRUE(persistent_) << me << " holds a mutation of " << m.clientID;
          ASSERT_GT(m.id, lastOf[m.clientID]) << me << ": " << m.clientID << "'s mutations out of order";
          lastOf[m.clientID] = m.id;
          continue;
        }
        ASSERT_EQ(m.id, expect) << me << ": pending ids must be contiguous from lmid + 1";
        ++expect;
      }
      ASSERT_LE(lmid, server_.lastMutationID(me)) << me << ": confirmed more than the server did";
    }
  }

  std::mt19937_64 rng_;
  bool persistent_;
  uint64_t generation_ = 0;
  std::vector<std::string> groups_;
  std::vector<std::unique_ptr<Persister>> persisters_;
  std::map<std::string, TestStore> stores_;
  std::set<std::pair<std::string, uint64_t>> durable_;
  FakeClock clock_;
  ReferenceServer server_;
  bool chaos_ = true;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::set<std::pair<std::string, uint64_t>> created_;
  Stats stats_;
};

std::vector<uint64_t> Seeds() {
  if (const char* one = std::getenv("REPLICORE_SEED")) return {std::strtoull(one, nullptr, 10)};
  int count = kDefaultSeeds;
  if (const char* n = std::getenv("REPLICORE_SEEDS")) count = std::atoi(n);
  std::vector<uint64_t> seeds;
  for (int i = 1; i <= count; ++i) seeds.push_back(static_cast<uint64_t>(i));
  return seeds;
}

TEST(Convergence, RandomSchedulesConverge) {
  Stats total;
  size_t replayErrors = 0, failedOnServer = 0, skippedDuplicates = 0;
  int failures = 0;
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with REPLICORE_SEED=" + std::to_string(seed) + ")");
    Simulation sim(seed);
    sim.run(400);
    bool healed = !::testing::Test::HasFatalFailure() && sim.heal();
    EXPECT_TRUE(healed) << "clients did not catch up with the server";
    if (healed) sim.checkFinal();
    const Stats& s = sim.stats();
    total.requests += s.requests;
    total.droppedBefore += s.droppedBefore;
    total.droppedAfter += s.droppedAfter;
    total.failed500 += s.failed500;
    total.duplicated += s.duplicated;
    total.pokesLost += s.pokesLost;
    total.mutations += s.mutations;
    total.fullPulls += s.fullPulls;
    total.localFailures += s.localFailures;
    replayErrors += sim.replayErrors();
    skippedDuplicates += sim.server().skipped();
    for (const auto& p : sim.server().log()) failedOnServer += p.failed;
    if (::testing::Test::HasFailure() && ++failures >= 3) break;  // keep the output readable
  }
  // The schedules really exercised the hostile paths.
  if (Seeds().size() >= 10) {
    EXPECT_GT(total.droppedBefore, 0u);
    EXPECT_GT(total.droppedAfter, 0u);
    EXPECT_GT(total.failed500, 0u);
    EXPECT_GT(total.duplicated, 0u);
    EXPECT_GT(skippedDuplicates, 0u);
    EXPECT_GT(total.pokesLost, 0u);
    EXPECT_GT(failedOnServer, 0u);
    EXPECT_GT(replayErrors, 0u);
    EXPECT_GT(total.fullPulls, 0u);
  }
  std::printf("[ stats    ] %zu seeds: %llu mutations (%llu refused locally), %llu requests, "
              "%llu lost before / %llu after the server, %llu HTTP 500, %llu duplicated pushes "
              "(%zu skipped as already processed), %llu pokes lost, %zu failed for good on the "
              "server, %zu replay errors, %llu pulls answered with clear + everything\n",
              Seeds().size(), (unsigned long long)total.mutations, (unsigned long long)total.localFailures,
              (unsigned long long)total.requests, (unsigned long long)total.droppedBefore,
              (unsigned long long)total.droppedAfter, (unsigned long long)total.failed500,
              (unsigned long long)total.duplicated, skippedDuplicates, (unsigned long long)total.pokesLost,
              failedOnServer, replayErrors, (unsigned long long)total.fullPulls);
}

TEST(Convergence, ClientsThatCrashReopenAndShareAStoreConverge) {
  Stats total;
  int failures = 0;
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with REPLICORE_SEED=" + std::to_string(seed) + ")");
    Simulation sim(seed, /*persistent=*/true);
    sim.run(400);
    bool healed = !::testing::Test::HasFatalFailure() && sim.heal();
    EXPECT_TRUE(healed) << "clients did not catch up with the server";
    if (healed) sim.checkFinal();
    const Stats& s = sim.stats();
    total.mutations += s.mutations;
    total.writes += s.writes;
    total.crashes += s.crashes;
    total.closes += s.closes;
    total.merged += s.merged;
    if (::testing::Test::HasFailure() && ++failures >= 3) break;
  }
  if (Seeds().size() >= 10) {
    EXPECT_GT(total.crashes, 0u);
    EXPECT_GT(total.closes, 0u);
    EXPECT_GT(total.merged, 0u);
  }
  std::printf("[ stats    ] %zu seeds: %llu mutations, %llu store writes, %llu crashes, %llu closes, "
              "%llu mutations merged from other tabs\n",
              Seeds().size(), (unsigned long long)total.mutations, (unsigned long long)total.writes,
              (unsigned long long)total.crashes, (unsigned long long)total.closes,
              (unsigned long long)total.merged);
}

// The reference server itself keeps the server rules the simulation relies on.
TEST(ReferenceServer, KeepsTheServerRules) {
  ReferenceServer s;
  SimMutators::registerOn(s);
  auto push = [&](const std::string& group, Json mutations) {
    Json b = {{"profileID", "p"}, {"clientGroupID", group}, {"pushVersion", 1}, {"schemaVersion", ""},
              {"mutations", mutations}};
    return s.handlePush(b.dump());
  };
  auto pull = [&](const std::string& group, Json cookie) {
    Json b = {{"profileID", "p"}, {"clientGroupID", group}, {"cookie", cookie}, {"pullVersion", 1},
              {"schemaVersion", ""}};
    HttpResponse r = s.handlePull(b.dump());
    EXPECT_EQ(r.status, 200);
    return Json::parse(r.body);
  };
  auto m = [](const char* c, int id, const char* name, Json args) {
    return Json{{"clientID", c}, {"id", id}, {"name", name}, {"args", args}, {"timestamp", 0}};
  };
  EXPECT_EQ(push("g", Json::array({m("a", 1, "incr", {{"key", "n"}, {"by", 2}}), m("a", 2, "ghost", {{"key", "x"}})})).status, 200);
  EXPECT_EQ(s.lastMutationID("a"), 2u);  // the failing one advanced the lmid
  EXPECT_EQ(s.state(), Json::parse(R"([["n",2]])"));
  // Already processed: skipped. From the future: refused.
  EXPECT_EQ(push("g", Json::array({m("a", 1, "incr", {{"key", "n"}, {"by", 2}})})).status, 200);
  EXPECT_EQ(s.state(), Json::parse(R"([["n",2]])"));
  EXPECT_EQ(push("g", Json::array({m("a", 4, "incr", {{"key", "n"}, {"by", 2}})})).status, 500);
  EXPECT_EQ(s.lastMutationID("a"), 2u);
  // Another group cannot push for client a.
  EXPECT_EQ(push("h", Json::array({m("a", 3, "incr", {{"key", "n"}, {"by", 2}})})).status, 403);
  EXPECT_EQ(push("h", Json::array({m("b", 1, "put", {{"key", "y"}, {"value", 1}})})).status, 200);

  Json full = pull("g", nullptr);
  EXPECT_EQ(full["cookie"], s.version());
  EXPECT_EQ(full["lastMutationIDChanges"], (Json{{"a", 2}}));  // only group g
  EXPECT_EQ(full["patch"], Json::parse(R"([{"op":"clear"},{"op":"put","key":"n","value":2},{"op":"put","key":"y","value":1}])"));
  uint64_t v = s.version();
  push("h", Json::array({m("b", 2, "del", {{"key", "y"}})}));
  Json since = pull("g", v);
  EXPECT_EQ(since["patch"], Json::parse(R"([{"op":"del","key":"y"}])"));
  EXPECT_EQ(since["lastMutationIDChanges"], Json::object());
  EXPECT_EQ(pull("h", v)["lastMutationIDChanges"], (Json{{"b", 2}}));
  EXPECT_EQ(s.log().size(), 4u);
  EXPECT_EQ(s.protocolViolations(), 2u);
}

}  // namespace
}  // namespace replicore
