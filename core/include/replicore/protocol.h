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
#include <string_view>
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
  ValuePtr args = Value::fromText("null");
  double timestamp = 0;
};

Json mutationToJson(const Mutation& m);

// --- Cookies ---------------------------------------------------------------
// A pull cookie as the server sent it: null, a string, a finite number, or an
// object whose `order` field is a string or a finite number. Kept as its JSON
// text, which the next pull sends back byte for byte, with the order it
// compares by read once.
class Cookie {
 public:
  // The null cookie (no pull applied yet).
  Cookie() = default;
  Cookie(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): JSON null
  // A version number, the usual cookie of a simple server.
  Cookie(int version);  // NOLINT(google-explicit-constructor)
  // The cookie that `text` spells, or nullopt, with *error set when given,
  // when `text` is not JSON or not a valid cookie.
  static std::optional<Cookie> fromText(std::string_view text, std::string* error = nullptr);
  // For C++ callers and tests: the cookie that `json` spells. An invalid one
  // gives a cookie whose valid() is false (a pull carrying it is rejected).
  Cookie(const Json& json);  // NOLINT(google-explicit-constructor): stands for its JSON

  bool valid() const { return kind_ != Kind::kInvalid; }
  bool isNull() const { return kind_ == Kind::kNull; }
  // The JSON text, as received.
  const std::string& text() const { return text_; }
  // The cookie parsed (C++ callers and tests).
  Json json() const;

  // Same text: what a client sends back is what it received, so equal
  // cookies of one server are spelled alike.
  friend bool operator==(const Cookie& a, const Cookie& b) { return a.text_ == b.text_; }
  friend bool operator!=(const Cookie& a, const Cookie& b) { return !(a == b); }
  // <0, 0, >0 like strcmp. Null is lowest; two numbers compare numerically
  // (integers exactly, beyond double precision); if either is a string both
  // compare as strings (a number as JavaScript prints it); objects compare by
  // their `order`. Both must be valid.
  friend int compareCookies(const Cookie& a, const Cookie& b);

 private:
  enum class Kind { kNull, kNumber, kString, kInvalid };
  // Reads the order out of `text_` (itself, or its object's `order`).
  void readOrder();
  Kind kind_ = Kind::kNull;
  std::string text_ = "null";
  double number_ = 0;
  // A string order decoded, or the JSON text of a number written as an
  // integer (for the exact comparison).
  std::string order_;
  bool integer_ = false;
};
int compareCookies(const Cookie& a, const Cookie& b);

// --- Requests ----------------------------------------------------------------
struct RequestIdentity {
  std::string profileID;
  std::string clientGroupID;
  std::string schemaVersion;
};

std::string buildPushBody(const RequestIdentity& who, const std::vector<Mutation>& mutations);
// The push body of the longest prefix of `mutations` that fits in
// `maxBytes`, and always at least the first one (a caller that must never
// exceed the limit checks that one alone first). `*taken` (when not null)
// is how many went in.
std::string buildPushBodyWithin(const RequestIdentity& who, const std::vector<Mutation>& mutations,
                                size_t maxBytes, size_t* taken);
std::string buildPullBody(const RequestIdentity& who, const Cookie& cookie);

// --- Responses ---------------------------------------------------------------
enum class PatchOpKind { kPut, kDel, kClear, kUpdate };

struct PatchOp {
  PatchOpKind kind = PatchOpKind::kPut;
  std::string key;                         // put, del, update
  ValuePtr value;                          // put
  ValuePtr merge;                          // update: an object to merge in, or null
  std::optional<std::vector<std::string>> constrain;  // update: keys to keep
};

struct PullSuccess {
  Cookie cookie;
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
// with `error` set when the text is not JSON, nests deeper than allowed, or
// holds a lone surrogate escape (valid JSON that a Json cannot hold).
std::optional<Json> parseJsonLimited(std::string_view text, int maxDepth, std::string* error);

}  // namespace replicore

#endif  // REPLICORE_PROTOCOL_H_
