// Helpers to build pull responses and a replica with the usual mutators.
#ifndef REPLICORE_TESTS_REPLICA_UTIL_H_
#define REPLICORE_TESTS_REPLICA_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "replicore/replica.h"
#include "support/test_util.h"

namespace replicore::testing {

inline PatchOp PutOp(std::string key, Json value) {
  PatchOp op;
  op.kind = PatchOpKind::kPut;
  op.key = std::move(key);
  op.value = Value::make(std::move(value));
  return op;
}
inline PatchOp DelOp(std::string key) {
  PatchOp op;
  op.kind = PatchOpKind::kDel;
  op.key = std::move(key);
  return op;
}
inline PatchOp ClearOp() {
  PatchOp op;
  op.kind = PatchOpKind::kClear;
  return op;
}
inline PatchOp UpdateOp(std::string key, std::optional<Json> merge,
                        std::optional<std::vector<std::string>> constrain) {
  PatchOp op;
  op.kind = PatchOpKind::kUpdate;
  op.key = std::move(key);
  if (merge) op.merge = Value::make(std::move(*merge));
  op.constrain = std::move(constrain);
  return op;
}

inline PullSuccess Pull(Json cookie, std::map<std::string, uint64_t> lmids,
                        std::vector<PatchOp> patch = {}) {
  PullSuccess p;
  p.cookie = std::move(cookie);
  p.lastMutationIDChanges = std::move(lmids);
  p.patch = std::move(patch);
  return p;
}

inline ReplicaOptions Options(std::string clientID = "c1", std::string group = "g1") {
  ReplicaOptions o;
  o.clientID = std::move(clientID);
  o.clientGroupID = std::move(group);
  o.profileID = "p1";
  o.schemaVersion = "1";
  return o;
}

// put {key, value}, del {key}, incr {key, by}, append {key, item}, fail.
inline void RegisterBasicMutators(Replica& r) {
  r.registerMutator("put", [](WriteTransaction& tx, const Json& a) {
    tx.set(a.at("key").get<std::string>(), a.at("value"));
    return Json();
  });
  r.registerMutator("del", [](WriteTransaction& tx, const Json& a) {
    return Json(tx.del(a.at("key").get<std::string>()));
  });
  r.registerMutator("incr", [](WriteTransaction& tx, const Json& a) {
    std::string key = a.at("key").get<std::string>();
    ValuePtr v = tx.get(key);
    int64_t n = (v ? v->json().get<int64_t>() : 0) + a.value("by", 1);
    tx.set(key, Json(n));
    return Json(n);
  });
  r.registerMutator("append", [](WriteTransaction& tx, const Json& a) {
    std::string key = a.at("key").get<std::string>();
    ValuePtr v = tx.get(key);
    Json list = v ? v->json() : Json::array();
    list.push_back(a.at("item"));
    tx.set(key, list);
    return Json(list.size());
  });
  r.registerMutator("fail", [](WriteTransaction& tx, const Json&) -> Json {
    tx.set("fail-was-here", Json(true));
    throw std::runtime_error("boom");
  });
}

// The visible state as [[key, value], ...].
inline Json State(const Replica& r) {
  auto tx = r.read();
  return tx->scanEntries(ScanOptions{});
}

inline Json Get(const Replica& r, const std::string& key) {
  auto tx = r.read();
  ValuePtr v = tx->get(key);
  return v ? v->json() : Json("<absent>");
}

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_REPLICA_UTIL_H_
