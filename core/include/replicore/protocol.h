// The Replicache push/pull protocol, version 1, client side: request bodies,
// and strict parsing of responses (see shared/PROTOCOL.md).
//
// Every parse function validates the whole body before it returns anything:
// a malformed or hostile body gives an error message and no partial result,
// so a caller never applies half a response.
#ifndef REPLICORE_PROTOCOL_H_
#define REPLICORE_PROTOCOL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "replicore/value.h"

namespace replicore {

// One call of a named mutator, as pushed to the server.
struct Mutation {
  std::string clientID;
  uint64_t id = 0;
  std::string name;
  // The args as a Value: JSON text from a host (never parsed unless a C++
  // mutator or reader asks), or parsed JSON from C++ callers. Never null
  // (JSON null when the mutator was called without an argument).
  ValuePtr args = Value::make(nullptr);
  double timestamp = 0;
};

Json mutationToJson(const Mutation& m);

// --- Cookies ---------------------------------------------------------------
// A cookie is null, a string, a number, or an object with an `order` field
// that is a string or a number. Anything else is invalid.
bool isValidCookie(const Json& cookie);
// <0, 0, >0 like strcmp. Null is lowest; two numbers compare numerically; if
// either is a string both compare as strings (a number as its JSON text);
// objects compare by their `order`. Both must be valid cookies.
int compareCookies(const Json& a, const Json& b);

// --- Requests ----------------------------------------------------------------
struct RequestIdentity {
  std::string profileID;
  std::string clientGroupID;
  std::string schemaVersion;
};

std::string buildPushBody(const RequestIdentity& who, const std::vector<Mutation>& mutations);
std::string buildPullBody(const RequestIdentity& who, const Json& cookie);

// --- Responses ---------------------------------------------------------------
enum class PatchOpKind { kPut, kDel, kClear, kUpdate };

struct PatchOp {
  PatchOpKind kind = PatchOpKind::kPut;
  std::string key;                         // put, del, update
  ValuePtr value;                          // put
  std::optional<Json> merge;               // update: an object to merge in
  std::optional<std::vector<std::string>> constrain;  // update: keys to keep
};

struct PullSuccess {
  Json cookie;
  std::map<std::string, uint64_t> lastMutationIDChanges;
  std::vector<PatchOp> patch;
};

struct ClientStateNotFound {};
struct VersionNotSupported {
  std::string versionType;  // "push", "pull", "schema" or "" when not given
};

// What a 200 response meant.
using PullResult = std::variant<PullSuccess, ClientStateNotFound, VersionNotSupported>;
using PushResult = std::variant<std::monostate, ClientStateNotFound, VersionNotSupported>;

// Limits that keep a hostile body from exhausting memory or the stack.
struct ParseLimits {
  size_t maxBodyBytes = 64u << 20;  // 64 MiB
  int maxDepth = 256;               // JSON nesting
};

struct ParseError {
  std::string message;
};

// Parses a pull response body. On success `result` is set and `error` empty.
struct ParsedPull {
  std::optional<PullResult> result;
  std::string error;
  bool notJson = false;  // the body was not JSON at all (counts as offline)
};
ParsedPull parsePullResponse(std::string_view body, const ParseLimits& limits = {});

// Parses a push response body: an empty or non-error body is success.
PushResult parsePushResponse(std::string_view body);

// Parses JSON text with a nesting limit and no exceptions. Returns nullopt
// with `error` set when the text is not JSON or nests deeper than allowed.
std::optional<Json> parseJsonLimited(std::string_view text, int maxDepth, std::string* error);

}  // namespace replicore

#endif  // REPLICORE_PROTOCOL_H_
