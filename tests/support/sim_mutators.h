// Mutators written once and run both by the clients (over a
// WriteTransaction) and by the reference server (over a ServerTx), so the
// two sides agree on what a mutation does. Several are non-commutative
// (append, moveFirst, takeIfPositive), so applying them in a different order
// or twice gives a different state.
#ifndef REPLICORE_TESTS_SIM_MUTATORS_H_
#define REPLICORE_TESTS_SIM_MUTATORS_H_

#include <optional>
#include <stdexcept>
#include <string>

#include "replicore/replica.h"
#include "support/reference_server.h"

namespace replicore::testing {

// Gives a WriteTransaction the small interface ServerTx has.
struct ClientTx {
  WriteTransaction& tx;
  std::optional<Json> get(const std::string& key) const {
    ValuePtr v = tx.get(key);
    if (!v) return std::nullopt;
    return v->json();
  }
  void set(const std::string& key, Json value) { tx.set(key, std::move(value)); }
  bool del(const std::string& key) { return tx.del(key); }
};

struct SimMutators {
  // incr {key, by}: adds to a number (absent = 0).
  template <typename Tx>
  static void incr(Tx& tx, const Json& a) {
    std::string key = a.at("key").get<std::string>();
    auto v = tx.get(key);
    int64_t n = v ? v->template get<int64_t>() : 0;
    tx.set(key, Json(n + a.at("by").get<int64_t>()));
  }
  // put {key, value}
  template <typename Tx>
  static void put(Tx& tx, const Json& a) {
    tx.set(a.at("key").get<std::string>(), a.at("value"));
  }
  // del {key}
  template <typename Tx>
  static void del(Tx& tx, const Json& a) {
    tx.del(a.at("key").get<std::string>());
  }
  // append {key, item}: appends to a list (absent = []).
  template <typename Tx>
  static void append(Tx& tx, const Json& a) {
    std::string key = a.at("key").get<std::string>();
    auto v = tx.get(key);
    Json list = v ? *v : Json::array();
    list.push_back(a.at("item"));
    tx.set(key, std::move(list));
  }
  // moveFirst {from, to}: moves the first item of one list to the end of
  // another; nothing when `from` is empty.
  template <typename Tx>
  static void moveFirst(Tx& tx, const Json& a) {
    std::string from = a.at("from").get<std::string>(), to = a.at("to").get<std::string>();
    auto f = tx.get(from);
    if (!f || f->empty()) return;
    Json src = *f;
    Json item = src[0];
    src.erase(src.begin());
    tx.set(from, src);
    auto t = tx.get(to);
    Json dst = t ? *t : Json::array();
    dst.push_back(item);
    tx.set(to, std::move(dst));
  }
  // takeIfPositive {key, who}: decrements a positive counter and records
  // the taker; throws when the counter is not positive (a mutation that
  // fails on replay, and fails for good on the server).
  template <typename Tx>
  static void takeIfPositive(Tx& tx, const Json& a) {
    std::string key = a.at("key").get<std::string>();
    auto v = tx.get(key);
    int64_t n = v ? v->template get<int64_t>() : 0;
    if (n <= 0) throw std::runtime_error("nothing left to take at " + key);
    tx.set(key, Json(n - 1));
    append(tx, Json{{"key", "takers"}, {"item", a.at("who")}});
  }
  // ghost {key}: writes on the client, always fails on the server.
  template <typename Tx>
  static void ghostClient(Tx& tx, const Json& a) {
    tx.set(a.at("key").get<std::string>(), Json("ghost"));
  }
  template <typename Tx>
  static void ghostServer(Tx&, const Json&) {
    throw std::runtime_error("the server refuses ghosts");
  }

  static void registerOn(Replica& r) {
    auto reg = [&r](const char* name, void (*fn)(ClientTx&, const Json&)) {
      r.registerMutator(name, [fn](WriteTransaction& tx, const Json& a) {
        ClientTx c{tx};
        fn(c, a);
        return Json();
      });
    };
    reg("incr", &incr<ClientTx>);
    reg("put", &put<ClientTx>);
    reg("del", &del<ClientTx>);
    reg("append", &append<ClientTx>);
    reg("moveFirst", &moveFirst<ClientTx>);
    reg("takeIfPositive", &takeIfPositive<ClientTx>);
    reg("ghost", &ghostClient<ClientTx>);
  }
  static void registerOn(ReferenceServer& s) {
    s.registerMutator("incr", &incr<ServerTx>);
    s.registerMutator("put", &put<ServerTx>);
    s.registerMutator("del", &del<ServerTx>);
    s.registerMutator("append", &append<ServerTx>);
    s.registerMutator("moveFirst", &moveFirst<ServerTx>);
    s.registerMutator("takeIfPositive", &takeIfPositive<ServerTx>);
    s.registerMutator("ghost", &ghostServer<ServerTx>);
  }
};

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_SIM_MUTATORS_H_
