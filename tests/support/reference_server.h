// An in-process reference server that follows the server rules of
// docs/protocol.md, for the convergence test and the examples:
//  - per-client last mutation ids, clients belong to one client group;
//  - every entry carries the version that last wrote it; deletes leave
//    tombstones, so a pull can send every change since its cookie;
//  - cookie = the version number the response brings the client to;
//  - a push's mutations are processed in order, each in its own
//    transaction together with its client's lmid; id <= lmid is skipped,
//    id > lmid + 1 is an error (not processed); a mutator that throws fails
//    for good: nothing written, but the lmid still advances;
//  - a pull's result depends only on the cookie and the group.
// It keeps a log of every mutation it processed, to check exactly-once.
#ifndef REPLICORE_TESTS_REFERENCE_SERVER_H_
#define REPLICORE_TESTS_REFERENCE_SERVER_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "replicore/platform.h"
#include "replicore/value.h"

namespace replicore::testing {

// The writes of one server transaction, over the committed entries.
class ServerTx {
 public:
  struct Entry {
    Json value;
    uint64_t version = 0;
    bool deleted = false;
  };
  explicit ServerTx(const std::map<std::string, Entry>* committed) : committed_(committed) {}

  std::optional<Json> get(const std::string& key) const {
    auto w = writes_.find(key);
    if (w != writes_.end()) return w->second;
    auto c = committed_->find(key);
    if (c == committed_->end() || c->second.deleted) return std::nullopt;
    return c->second.value;
  }
  bool has(const std::string& key) const { return get(key).has_value(); }
  void set(const std::string& key, Json value) { writes_[key] = std::move(value); }
  bool del(const std::string& key) {
    bool existed = has(key);
    writes_[key] = std::nullopt;
    return existed;
  }
  const std::map<std::string, std::optional<Json>>& writes() const { return writes_; }

 private:
  const std::map<std::string, Entry>* committed_;
  std::map<std::string, std::optional<Json>> writes_;
};

class ReferenceServer {
 public:
  using Mutator = std::function<void(ServerTx& tx, const Json& args)>;

  struct Processed {
    std::string clientID;
    uint64_t id = 0;
    std::string name;
    bool failed = false;  // the mutator failed for good (lmid still advanced)
  };

  void registerMutator(const std::string& name, Mutator m) { mutators_[name] = std::move(m); }

  // Called after a push committed changes (to send pokes).
  std::function<void()> onCommit;
  // Every failure of a mutator, for logging.
  std::function<void(const Processed&, const std::string& message)> onMutatorError;

  HttpResponse handle(const HttpRequest& request) {
    if (request.url.find("push") != std::string::npos) return handlePush(request.body);
    if (request.url.find("pull") != std::string::npos) return handlePull(request.body);
    return {404, "not found", ""};
  }

  HttpResponse handlePush(const std::string& body) {
    Json req = Json::parse(body, nullptr, false);
    if (req.is_discarded() || !req.is_object()) return {400, "bad json", ""};
    if (req.value("pushVersion", Json()) != Json(1)) return versionNotSupported("push");
    if (!req.contains("clientGroupID") || !req["clientGroupID"].is_string() ||
        !req.contains("mutations") || !req["mutations"].is_array())
      return {400, "bad push", ""};
    std::string group = req["clientGroupID"].get<std::string>();
    bool changed = false;
    for (const Json& m : req["mutations"]) {
      if (!m.is_object() || !m.contains("clientID") || !m["clientID"].is_string() ||
          !m.contains("id") || !m["id"].is_number_unsigned() || !m.contains("name") ||
          !m["name"].is_string())
        return {400, "bad mutation", ""};
      std::string clientID = m["clientID"].get<std::string>();
      uint64_t id = m["id"].get<uint64_t>();
      auto it = clients_.find(clientID);
      if (it == clients_.end()) it = clients_.emplace(clientID, ClientRecord{group, 0, 0}).first;
      ClientRecord& client = it->second;
      if (client.group != group) {
        ++protocolViolations_;
        return {403, "client " + clientID + " belongs to another group", ""};
      }
      if (id <= client.lmid) {
        ++skipped_;
        continue;
      }
      if (id > client.lmid + 1) {
        ++protocolViolations_;
        return {500, "mutation " + std::to_string(id) + " of " + clientID + " is from the future",
                ""};
      }
      // One transaction: the mutator's writes and the client's lmid.
      Processed p{clientID, id, m["name"].get<std::string>(), false};
      ServerTx tx(&entries_);
      auto mut = mutators_.find(p.name);
      try {
        if (mut == mutators_.end()) throw std::runtime_error("unknown mutator " + p.name);
        mut->second(tx, m.contains("args") ? m["args"] : Json());
      } catch (const std::exception& e) {
        p.failed = true;
        if (onMutatorError) onMutatorError(p, e.what());
      }
      uint64_t version = ++version_;
      if (!p.failed) {
        for (const auto& [key, value] : tx.writes()) {
          ServerTx::Entry& e = entries_[key];
          e.version = version;
          e.deleted = !value.has_value();
          e.value = value ? *value : Json();
        }
      }
      client.lmid = id;
      client.lmidVersion = version;
      log_.push_back(p);
      changed = true;
    }
    if (changed && onCommit) onCommit();
    return {200, "{}", ""};
  }

  HttpResponse handlePull(const std::string& body) {
    Json req = Json::parse(body, nullptr, false);
    if (req.is_discarded() || !req.is_object()) return {400, "bad json", ""};
    if (req.value("pullVersion", Json()) != Json(1)) return versionNotSupported("pull");
    if (!req.contains("clientGroupID") || !req["clientGroupID"].is_string())
      return {400, "bad pull", ""};
    std::string group = req["clientGroupID"].get<std::string>();
    Json cookie = req.value("cookie", Json());
    uint64_t since = 0;
    bool full = cookie.is_null();
    if (!full) {
      if (!cookie.is_number_unsigned() || cookie.get<uint64_t>() > version_)
        return {400, "bad cookie", ""};
      since = cookie.get<uint64_t>();
    }
    Json patch = Json::array();
    if (full) patch.push_back({{"op", "clear"}});
    for (const auto& [key, e] : entries_) {
      if (!full && e.version <= since) continue;
      if (e.deleted) {
        if (!full) patch.push_back({{"op", "del"}, {"key", key}});
      } else {
        patch.push_back({{"op", "put"}, {"key", key}, {"value", e.value}});
      }
    }
    Json lmids = Json::object();
    for (const auto& [id, c] : clients_)
      if (c.group == group && c.lmidVersion > since) lmids[id] = c.lmid;
    Json res = {{"cookie", version_}, {"lastMutationIDChanges", lmids}, {"patch", patch}};
    return {200, res.dump(), ""};
  }

  // Every live entry, as [[key, value], ...] in key order.
  Json state() const {
    Json out = Json::array();
    for (const auto& [key, e] : entries_)
      if (!e.deleted) out.push_back(Json::array({key, e.value}));
    return out;
  }
  uint64_t version() const { return version_; }
  uint64_t lastMutationID(const std::string& clientID) const {
    auto it = clients_.find(clientID);
    return it == clients_.end() ? 0 : it->second.lmid;
  }
  const std::vector<Processed>& log() const { return log_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t protocolViolations() const { return protocolViolations_; }

 private:
  struct ClientRecord {
    std::string group;
    uint64_t lmid = 0;
    uint64_t lmidVersion = 0;  // the version at which lmid last changed
  };
  static HttpResponse versionNotSupported(const char* type) {
    Json b = {{"error", "VersionNotSupported"}, {"versionType", type}};
    return {200, b.dump(), ""};
  }

  std::map<std::string, ServerTx::Entry> entries_;
  std::map<std::string, ClientRecord> clients_;
  std::map<std::string, Mutator> mutators_;
  uint64_t version_ = 0;
  std::vector<Processed> log_;
  uint64_t skipped_ = 0;
  uint64_t protocolViolations_ = 0;
};

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_REFERENCE_SERVER_H_
