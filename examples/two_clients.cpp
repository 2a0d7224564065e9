// Two replicore clients syncing through an in-process server.
//
// Everything runs in one thread on a virtual clock: the "network" hands each
// request to the reference server (the one the tests use, which keeps the
// Replicache server rules) and answers 5 ms later; the server "pokes" every
// client after each push. The program prints each step and checks at the end
// that both clients show exactly the server's state.
#include <cstdio>
#include <memory>
#include <string>

#include "replicore/client.h"
#include "support/fake_clock.h"
#include "support/reference_server.h"

using replicore::Client;
using replicore::HttpRequest;
using replicore::HttpResponse;
using replicore::Json;
using replicore::WriteTransaction;
using replicore::testing::FakeClock;
using replicore::testing::ReferenceServer;
using replicore::testing::ServerTx;

namespace {

FakeClock gClock;
ReferenceServer gServer;

// The network between one client and the server: 5 ms each way.
class Link : public replicore::HttpTransport {
 public:
  explicit Link(std::string name) : name_(std::move(name)) {}
  void post(HttpRequest request, std::function<void(HttpResponse)> done) override {
    bool isPush = request.url.find("push") != std::string::npos;
    std::printf("  %7.1f ms  %s -> server  %s %s\n", gClock.nowMs(), name_.c_str(), isPush ? "PUSH" : "PULL",
                request.body.c_str());
    gClock.setTimeout(5, [this, request, done, isPush] {
      HttpResponse response = gServer.handle(request);
      gClock.setTimeout(5, [this, response, done, isPush] {
        std::printf("  %7.1f ms  server -> %s  %s %d %s\n", gClock.nowMs(), name_.c_str(),
                    isPush ? "PUSH" : "PULL", response.status, response.body.c_str());
        done(response);
      });
    });
  }

 private:
  std::string name_;
};

// The app's mutators, once for the clients and once for the server.
void addMessageClient(WriteTransaction& tx, const Json& a) {
  tx.set("message/" + a.at("id").get<std::string>(), a);
}
void addMessageServer(ServerTx& tx, const Json& a) { tx.set("message/" + a.at("id").get<std::string>(), a); }
void likeClient(WriteTransaction& tx, const Json& a) {
  std::string key = "likes/" + a.get<std::string>();
  replicore::ValuePtr v = tx.get(key);
  tx.set(key, Json((v ? v->json().get<int>() : 0) + 1));
}
void likeServer(ServerTx& tx, const Json& a) {
  std::string key = "likes/" + a.get<std::string>();
  auto v = tx.get(key);
  tx.set(key, Json((v ? v->get<int>() : 0) + 1));
}

std::unique_ptr<Client> makeClient(const std::string& id, const std::string& group, Link* link) {
  replicore::ReplicaOptions ro;
  ro.clientID = id;
  ro.clientGroupID = group;
  ro.profileID = "profile-" + id;
  replicore::SchedulerOptions so;
  so.pushURL = "inproc://server/push";
  so.pullURL = "inproc://server/pull";
  so.sessionHex = "0a1b";
  so.pullIntervalMs = std::nullopt;  // the server pokes
  auto c = std::make_unique<Client>(ro, so, replicore::SchedulerCallbacks{}, &gClock, link);
  c->replica().registerMutator("addMessage", [](WriteTransaction& tx, const Json& a) {
    addMessageClient(tx, a);
    return Json();
  });
  c->replica().registerMutator("like", [](WriteTransaction& tx, const Json& a) {
    likeClient(tx, a);
    return Json();
  });
  return c;
}

Json stateOf(Client& c) { return c.replica().read()->scanEntries({}); }

void show(const char* name, Client& c) {
  std::printf("  %s sees %s (pending: %zu)\n", name, stateOf(c).dump().c_str(),
              c.replica().pendingMutations().size());
}

}  // namespace

int main() {
  gServer.registerMutator("addMessage", &addMessageServer);
  gServer.registerMutator("like", &likeServer);

  Link aliceLink("alice"), bobLink("bob");
  auto alice = makeClient("alice", "group-a", &aliceLink);
  auto bob = makeClient("bob", "group-b", &bobLink);
  gServer.onCommit = [&] {
    std::printf("  %7.1f ms  server pokes everyone\n", gClock.nowMs());
    gClock.setTimeout(1, [&] {
      alice->scheduler().poke();
      bob->scheduler().poke();
    });
  };
  std::printf("1. Both clients start and pull the (empty) server state\n");
  int bobSaw = 0;
  bob->replica().subscribe(
      [](replicore::ReadTransaction& tx) {
        replicore::ScanOptions o;
        o.prefix = "message/";
        return tx.scanValues(o);
      },
      [&](const Json& messages) {
        std::printf("  bob's subscription: %zu message(s)\n", messages.size());
        ++bobSaw;
      });

  alice->scheduler().start();
  bob->scheduler().start();
  gClock.advance(50);

  std::printf("\n2. Alice adds a message; it shows locally at once, pending\n");
  alice->mutate("addMessage", Json{{"id", "1"}, {"from", "alice"}, {"text", "hello bob"}});
  show("alice", *alice);
  show("bob", *bob);

  std::printf("\n3. Alice's push goes out after 10 ms; the server pokes; both pull\n");
  gClock.advance(100);
  show("alice", *alice);
  show("bob", *bob);

  std::printf("\n4. Both like the message at the same time\n");
  alice->mutate("like", Json("1"));
  bob->mutate("like", Json("1"));
  show("alice", *alice);
  show("bob", *bob);
  gClock.advance(200);

  std::printf("\n5. Final states\n");
  show("alice", *alice);
  show("bob", *bob);
  Json server = gServer.state();
  std::printf("  server has %s\n", server.dump().c_str());
  bool same = stateOf(*alice) == server && stateOf(*bob) == server && alice->replica().pendingMutations().empty() &&
              bob->replica().pendingMutations().empty();
  std::printf("\n%s: both clients %s the server's state (%zu mutations processed by the server)\n",
              same ? "OK" : "MISMATCH", same ? "equal" : "differ from", gServer.log().size());
  return same && bobSaw >= 2 ? 0 : 1;
}
