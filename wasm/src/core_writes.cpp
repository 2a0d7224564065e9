// Core (core_binding.h): the write side, a mutation's write transaction
// (beginMutation, setMany, del, commitMutation) and a rebase's (rebaseBegin,
// rebaseNext, ..., rebaseFinish), which JS drives the same way.
#include "core_binding.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replicore/json_text.h"
#include "replicore/replica.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

namespace {

const char* outcomeKindName(PullOutcome::Kind k) {
  switch (k) {
    case PullOutcome::Kind::kApplied: return "applied";
    case PullOutcome::Kind::kNoOp: return "noop";
    case PullOutcome::Kind::kDropped: return "dropped";
    case PullOutcome::Kind::kRejected: return "rejected";
  }
  return "?";
}

}  // namespace

double Core::beginMutation(std::string name, std::string argsJson, double timestamp) {
  return guard(0.0, [&] {
    // JSON.stringify of a validated copy: valid JSON, kept as text (the
    // core never parses it; pushes and replays send it back as is).
    pendingWrite_ = replica_->beginMutation(std::move(name), Value::fromText(std::move(argsJson)), timestamp);
    // Refused before the mutator runs: no push could ever carry it, and
    // it would block every later mutation (ids are derived, so dropping
    // the open write leaves no gap).
    std::string unpushable = scheduler_->unpushableReason(pendingWrite_->mutation());
    if (!unpushable.empty()) {
      pendingWrite_.reset();
      return fail(0.0, unpushable.c_str());
    }
    return double(pendingWrite_->mutation().id);
  });
}

double Core::beginMutationBody(std::string name, size_t len, double timestamp) {
  return beginMutation(std::move(name), takeBody(len), timestamp);
}

std::string Core::commitMutation() {
  return guard(std::string(), [&] {
    if (!pendingWrite_) return fail(std::string(), "no open mutation");
    pendingWrite_->commit();
    pendingWrite_.reset();
    std::string note = takeNote();
    if (!closed_) scheduler_->mutationAdded();
    return note;
  });
}

int Core::setMany(uintptr_t data, uintptr_t lens, int count, uintptr_t idsOut) {
  return guard(-1, [&] {
    std::string staged = std::move(stagedIndexKeys_);  // for this call only
    stagedIndexKeys_.clear();
    WriteTransaction* tx = writeTx();
    if (!tx) return fail(-1, "no open write transaction");
    const char* p = reinterpret_cast<const char*>(data);
    const uint32_t* len = reinterpret_cast<const uint32_t*>(lens);
    double* ids = reinterpret_cast<double*>(idsOut);
    // A commit compares each key's old value: their pages must be in
    // (a lazy open) before anything is written.
    if (!replica_->fullyLoaded()) {
      const char* q = p;
      for (int i = 0; i < count; i++) {
        if (auto page = tx->unloadedPageOf(std::string_view(q, len[i]))) missedPages_.push_back(*page);
        q += len[i];
      }
      if (!missedPages_.empty()) return -2;
    }
    if (!staged.empty()) {
      // With indexes: the values' keys are in place before set() reads them.
      std::vector<ValuePtr> values;
      std::vector<uint64_t> valueIDs;
      for (int i = 0; i < count; i++) {
        values.push_back(Value::fromHost(&jsValues_));
        valueIDs.push_back(values.back()->id());
        ids[i] = double(valueIDs.back());
      }
      jsValues_.takeStaged(std::move(staged), indexCount(), valueIDs);
      for (int i = 0; i < count; i++) {
        tx->set(std::string(p, len[i]), std::move(values[i]));
        p += len[i];
      }
      return count;
    }
    for (int i = 0; i < count; i++) {
      std::string key(p, len[i]);
      p += len[i];
      ValuePtr v = Value::fromHost(&jsValues_);
      ids[i] = double(v->id());
      tx->set(std::move(key), std::move(v));
    }
    return count;
  });
}

int Core::del(std::string key) {
  return guard(-1, [&] {
    WriteTransaction* tx = writeTx();
    if (!tx) return fail(-1, "no open write transaction");
    if (auto page = tx->unloadedPageOf(key)) {
      missedPages_.push_back(*page);
      return -2;
    }
    return tx->del(std::move(key)) ? 1 : 0;
  });
}

std::string Core::rebaseBegin(int token) {
  return guard(std::string("{\"started\":false,\"kind\":\"error\"}"), [&] {
    auto it = pulls_.find(token);
    if (it == pulls_.end()) return std::string("{\"started\":false,\"kind\":\"gone\"}");
    PendingPull p = std::move(it->second);
    pulls_.erase(it);
    PullOutcome outcome;
    rebase_ = replica_->beginRebase(p.response, p.requestCookie, &outcome);
    if (rebase_) {
      rebaseDone_ = std::move(p.done);
      return std::string("{\"started\":true}");
    }
    std::string out = "{\"started\":false,\"kind\":\"";
    out += outcomeKindName(outcome.kind);
    out += "\",\"error\":";
    appendJsonString(out, outcome.error);
    out += "}";
    if (!closed_) p.done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
    return out;
  });
}

std::string Core::rebaseNext() {
  return guard(std::string(), [&] {
    if (!rebase_) return std::string();
    const Mutation* m = rebase_->next();
    if (!m) return std::string();
    std::string out = "{\"id\":";
    appendJsonInteger(out, m->id);
    out += ",\"name\":";
    appendJsonString(out, m->name);
    out += ",\"clientID\":";
    appendJsonString(out, m->clientID);
    out += ",\"args\":";
    out += m->args->text();
    out += "}";
    return out;
  });
}

void Core::rebaseSucceeded() {
  guard(0, [&] {
    if (rebase_) rebase_->succeeded();
    return 0;
  });
}

void Core::rebaseFailed(std::string message) {
  guard(0, [&] {
    if (rebase_) rebase_->failed(std::move(message));
    return 0;
  });
}

std::string Core::rebaseFinish() {
  return guard(std::string(), [&] {
    if (!rebase_) return fail(std::string(), "no open rebase");
    PullOutcome outcome = rebase_->finish();
    rebase_.reset();
    std::string out = "{\"kind\":\"";
    out += outcomeKindName(outcome.kind);
    out += "\",\"error\":";
    appendJsonString(out, outcome.error);
    out += ",\"confirmed\":";
    appendJsonInteger(out, outcome.confirmedMutations);
    out += ",\"replayErrors\":[";
    bool first = true;
    for (const ReplayError& e : outcome.replayErrors) {
      if (!first) out += ',';
      first = false;
      out += "{\"clientID\":";
      appendJsonString(out, e.clientID);
      out += ",\"id\":";
      appendJsonInteger(out, e.mutationID);
      out += ",\"name\":";
      appendJsonString(out, e.name);
      out += ",\"message\":";
      appendJsonString(out, e.message);
      out += "}";
    }
    out += "],\"reset\":";
    if (const std::optional<ClientReset>& r = outcome.reset) {
      // The server lost what it had confirmed (or started this client
      // over with a lower cookie): the app is told (onClientStateReset).
      out += "{\"cookieWentBack\":";
      out += r->cookieWentBack ? "true" : "false";
      out += ",\"knownLastMutationID\":";
      appendJsonInteger(out, r->knownLastMutationID);
      out += ",\"serverLastMutationID\":";
      appendJsonInteger(out, r->serverLastMutationID);
      out += ",\"requeued\":";
      appendJsonInteger(out, r->requeued);
      out += ",\"lost\":";
      appendJsonInteger(out, r->lost);
      out += ",\"renumbered\":";
      out += r->renumbered ? "true" : "false";
      out += ",\"droppedForeign\":";
      appendJsonInteger(out, r->droppedForeign);
      out += "}";
    } else {
      out += "null";
    }
    out += ",\"note\":";
    out += takeNote();
    out += "}";
    auto done = std::move(rebaseDone_);
    rebaseDone_ = nullptr;
    if (done && !closed_) done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
    return out;
  });
}

void Core::rebaseAbort(std::string why) {
  rebase_.reset();
  auto done = std::move(rebaseDone_);
  rebaseDone_ = nullptr;
  if (done && !closed_) done(why.empty() ? std::string("rebase aborted") : why);
}

WriteTransaction* Core::writeTx() {
  if (pendingWrite_) return &pendingWrite_->tx();
  if (rebase_) return &rebase_->tx();
  return nullptr;
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
