#include "replicore/protocol.h"

#include <cstdint>

#include "json_scanner.h"
#include "replicore/json_text.h"

#include <cmath>
#include <set>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// Integers above this lose precision in JavaScript, so no lmid may exceed it.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// A non-negative integer that JavaScript represents exactly (an integral
// float such as 3.0 included, as JSON.parse reads it).
bool asSafeUnsigned(std::string_view span, uint64_t* out) {
  std::optional<double> d = readJsonNumber(span);
  if (!d || *d < 0 || *d > kMaxSafeInteger || std::floor(*d) != *d) return false;
  *out = static_cast<uint64_t>(*d);
  return true;
}

// -1, 0, 1 for two integers written as JSON digits ("-" and no leading
// zeros), exactly, however long.
int compareIntegerTexts(const std::string& a, const std::string& b) {
  bool negA = !a.empty() && a[0] == '-', negB = !b.empty() && b[0] == '-';
  if (negA != negB) return negA ? -1 : 1;
  std::string_view da = std::string_view(a).substr(negA ? 1 : 0), db = std::string_view(b).substr(negB ? 1 : 0);
  int c = da.size() != db.size() ? (da.size() < db.size() ? -1 : 1) : (da < db ? -1 : (da > db ? 1 : 0));
  return negA ? -c : c;
}

}  // namespace

Json mutationToJson(const Mutation& m) {
  return Json{{"id", m.id}, {"name", m.name}, {"args", m.args ? m.args->json() : Json(nullptr)}, {"timestamp", m.timestamp},
              {"clientID", m.clientID}};
}

std::optional<Cookie> Cookie::fromText(std::string_view text, std::string* error) {
  Cookie c;
  std::string why;
  if (!isValidJson(text, 64, &why)) {
    if (error) *error = "cookie is not valid JSON (" + why + ")";
    return std::nullopt;
  }
  c.text_ = std::string(text);
  c.readOrder();
  if (!c.valid()) {
    if (error) *error = "invalid cookie (null, string, finite number or {order})";
    return std::nullopt;
  }
  return c;
}

Cookie::Cookie(const Json& json) : text_(json.dump(-1, ' ', false, Json::error_handler_t::replace)) { readOrder(); }

Cookie::Cookie(int version) : text_(std::to_string(version)) { readOrder(); }

Json Cookie::json() const { return Json::parse(text_, nullptr, false); }

void Cookie::readOrder() {
  // Whitespace around the value is not part of it.
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::string_view order = text_;
  while (!order.empty() && isSpace(order.front())) order.remove_prefix(1);
  kind_ = Kind::kInvalid;
  if (order.empty()) return;
  if (order.front() == 'n' && order.substr(0, 4) == "null") {
    kind_ = Kind::kNull;
    return;
  }
  std::vector<JsonMember> members;
  if (order.front() == '{') {
    if (!readJsonObject(order, 64, &members)) return;
    order = {};
    for (const JsonMember& m : members) {
      if (m.key == "order") order = m.value;
    }
    if (order.empty()) return;
  }
  if (order.front() == '"') {
    std::optional<std::string> s = readJsonString(order);
    if (!s) return;
    kind_ = Kind::kString;
    order_ = std::move(*s);
    return;
  }
  std::optional<double> n = readJsonNumber(order);
  if (!n) return;
  kind_ = Kind::kNumber;
  number_ = *n;
  while (!order.empty() && isSpace(order.back())) order.remove_suffix(1);
  integer_ = order.find_first_of(".eE") == std::string_view::npos;
  if (integer_) order_ = std::string(order);
}

int compareCookies(const Cookie& a, const Cookie& b) {
  using Kind = Cookie::Kind;
  if (a.kind_ == Kind::kNull || b.kind_ == Kind::kNull) {
    return a.kind_ == b.kind_ ? 0 : (a.kind_ == Kind::kNull ? -1 : 1);
  }
  if (a.kind_ == Kind::kString || b.kind_ == Kind::kString) {
    // A number as JavaScript's String() prints it.
    auto text = [](const Cookie& c) {
      if (c.kind_ == Kind::kString) return c.order_;
      std::string printed;
      appendJsonNumber(printed, c.number_);
      return printed;
    };
    int c = text(a).compare(text(b));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.number_ < b.number_) return -1;
  if (a.number_ > b.number_) return 1;
  // Large integers differ below double precision: compare them exactly.
  // Zero is zero however spelled (-0 is 0, as in JavaScript; found by
  // tests/fuzz/cookie_fuzz, where -0 < 0 but both equal 0e20).
  if (a.number_ == 0) return 0;
  if (a.integer_ && b.integer_) return compareIntegerTexts(a.order_, b.order_);
  return 0;
}

namespace {

// The members both request bodies end with, in alphabetical order:
// profileID, the protocol version field `versionField`, schemaVersion.
void appendRequestTail(std::string& out, const RequestIdentity& who, const char* versionField) {
  out += "\"profileID\":";
  appendJsonString(out, who.profileID);
  out += ",\"";
  out += versionField;
  out += "\":1,\"schemaVersion\":";
  appendJsonString(out, who.schemaVersion);
  out += '}';
}

}  // namespace

namespace {
void appendPushMutation(std::string& out, const Mutation& m) {
  out += "{\"args\":";
  if (m.args) out += m.args->text();
  else out += "null";
  out += ",\"clientID\":";
  appendJsonString(out, m.clientID);
  out += ",\"id\":";
  appendJsonInteger(out, m.id);
  out += ",\"name\":";
  appendJsonString(out, m.name);
  out += ",\"timestamp\":";
  appendJsonNumber(out, m.timestamp);
  out += '}';
}
}  // namespace

// Written by hand so that each mutation's args go out as the text the host
// gave (a host's args are never parsed and printed again). Keys in
// alphabetical order, as the server's own tests print them.
std::string buildPushBody(const RequestIdentity& who, const std::vector<Mutation>& mutations) {
  return buildPushBodyWithin(who, mutations, SIZE_MAX, nullptr);
}

std::string buildPushBodyWithin(const RequestIdentity& who, const std::vector<Mutation>& mutations,
                                size_t maxBytes, size_t* taken) {
  std::string tail;
  tail += "],";
  appendRequestTail(tail, who, "pushVersion");
  std::string out = "{\"clientGroupID\":";
  appendJsonString(out, who.clientGroupID);
  out += ",\"mutations\":[";
  size_t count = 0;
  for (const Mutation& m : mutations) {
    size_t before = out.size();
    if (count > 0) out += ',';
    appendPushMutation(out, m);
    if (count > 0 && out.size() + tail.size() > maxBytes) {
      out.resize(before);
      break;
    }
    ++count;
  }
  out += tail;
  if (taken) *taken = count;
  return out;
}

std::string buildPullBody(const RequestIdentity& who, const Cookie& cookie) {
  std::string out = "{\"clientGroupID\":";
  appendJsonString(out, who.clientGroupID);
  out += ",\"cookie\":";
  out += cookie.text();
  out += ',';
  appendRequestTail(out, who, "pullVersion");
  return out;
}

std::optional<Json> parseJsonLimited(std::string_view text, int maxDepth, std::string* error) {
  std::string why;
  if (!isValidJson(text, maxDepth, &why)) {
    if (error) *error = why.rfind("JSON nests deeper", 0) == 0 ? why : "not valid JSON";
    return std::nullopt;
  }
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  // JSON's grammar allows a lone surrogate escape ("\ud800"), which a Json
  // (UTF-8 strings) cannot hold: refused rather than returned as a
  // "discarded" value that looks like one (found by tests/fuzz/json_fuzz).
  if (parsed.is_discarded()) {
    if (error) *error = "a string holds a lone surrogate escape, which this reader cannot keep";
    return std::nullopt;
  }
  return parsed;
}

namespace {

// Recognizes the two error bodies from the spans of their `error` and
// `versionType` members. Returns true when it is an error body; `message` is
// set when it is one we do not know.
template <typename Result>
bool parseErrorBody(std::optional<std::string_view> error, std::optional<std::string_view> versionType,
                    Result* result, std::string* message) {
  if (!error) return false;
  std::optional<std::string> name = readJsonString(*error);
  if (name && *name == "ClientStateNotFound") {
    *result = ClientStateNotFound{};
    return true;
  }
  if (name && *name == "VersionNotSupported") {
    VersionNotSupported v;
    if (versionType) {
      std::optional<std::string> type = readJsonString(*versionType);
      if (!type || (*type != "push" && *type != "pull" && *type != "schema")) {
        *message = "VersionNotSupported has an invalid versionType";
        return true;
      }
      v.versionType = std::move(*type);
    }
    *result = v;
    return true;
  }
  *message = "unknown error body: " + std::string(error->substr(0, 200));
  return true;
}

std::string describeOp(size_t index) { return "patch[" + std::to_string(index) + "]"; }

}  // namespace

namespace {

// One patch op as raw spans, read by the scanner.
struct RawOp {
  bool notObject = false;  // the element was not an object at all
  bool hasOp = false, opIsString = false, hasKey = false, keyIsString = false;
  std::string op, key;
  std::optional<std::string_view> value, merge, constrain;
};

// Reads the members of one patch op object; unknown members are validated
// and skipped. A member given twice counts once, the last time (as in
// JavaScript).
bool scanOp(detail::JsonScanner& s, RawOp* op) {
  if (!s.expect('{')) return false;
  if (s.peek() == '}') return s.expect('}');
  std::string name;
  while (true) {
    if (!s.readString(&name) || !s.expect(':')) return false;
    bool stringField = name == "op" || name == "key";
    if (stringField && s.peek() == '"') {
      std::string value;
      if (!s.readString(&value)) return false;
      if (name == "op") {
        op->hasOp = op->opIsString = true;
        op->op = std::move(value);
      } else {
        op->hasKey = op->keyIsString = true;
        op->key = std::move(value);
      }
    } else {
      std::string_view span;
      if (!s.skipValue(3, &span)) return false;
      if (name == "op") {
        op->hasOp = true;
        op->opIsString = false;
      } else if (name == "key") {
        op->hasKey = true;
        op->keyIsString = false;
      } else if (name == "value") {
        op->value = span;
      } else if (name == "merge") {
        op->merge = span;
      } else if (name == "constrain") {
        op->constrain = span;
      }
    }
    char next = s.peek();
    if (next == '}') return s.expect('}');
    if (!s.expect(',')) return false;
  }
}

bool checkOp(const RawOp& raw, size_t index, PatchOp* op, std::string* error) {
  if (!raw.hasOp || !raw.opIsString) {
    *error = describeOp(index) + " has no string 'op'";
    return false;
  }
  const std::string& name = raw.op;
  if (name == "clear") {
    op->kind = PatchOpKind::kClear;
    return true;
  }
  if (name != "put" && name != "del" && name != "update") {
    *error = describeOp(index) + " has unknown op '" + name.substr(0, 40) + "'";
    return false;
  }
  if (!raw.hasKey || !raw.keyIsString) {
    *error = describeOp(index) + " (" + name + ") has no string 'key'";
    return false;
  }
  op->key = raw.key;
  if (name == "put") {
    if (!raw.value) {
      *error = describeOp(index) + " (put) has no 'value'";
      return false;
    }
    op->kind = PatchOpKind::kPut;
    op->value = Value::fromText(std::string(*raw.value));
    return true;
  }
  if (name == "del") {
    op->kind = PatchOpKind::kDel;
    return true;
  }
  op->kind = PatchOpKind::kUpdate;
  if (raw.merge) {
    if (raw.merge->front() != '{') {
      *error = describeOp(index) + " (update) has a 'merge' that is not an object";
      return false;
    }
    op->merge = Value::fromText(std::string(*raw.merge));
  }
  if (raw.constrain) {
    // The scanner has validated the span: only its shape is checked here.
    detail::JsonScanner s(*raw.constrain, 2);
    if (!s.expect('[')) {
      *error = describeOp(index) + " (update) has a 'constrain' that is not an array";
      return false;
    }
    std::vector<std::string> keys;
    if (s.peek() == ']') {
      s.expect(']');
    } else {
      std::string key;
      while (true) {
        if (s.peek() != '"' || !s.readString(&key)) {
          *error = describeOp(index) + " (update) has a non-string in 'constrain'";
          return false;
        }
        keys.push_back(std::move(key));
        if (s.peek() == ']') break;
        s.expect(',');
      }
    }
    op->constrain = std::move(keys);
  }
  return true;
}

}  // namespace

// One pass of the scanner validates the whole body and collects the spans
// of the top-level members; `patch` is read op by op so that put values stay
// text. Only small members (cookie, lmids, error fields) are parsed.
ParsedPull parsePullResponse(std::string_view text, const ParseLimits& limits) {
  ParsedPull out;
  if (text.size() > limits.maxBodyBytes) {
    out.error = "pull response is larger than " + std::to_string(limits.maxBodyBytes) + " bytes";
    return out;
  }
  detail::JsonScanner s(text, limits.maxDepth);
  // Sets the error of a body the scanner refused. Callers then return
  // `out`: every return names it, so the result is built in place.
  auto syntaxError = [&]() {
    out.notJson = !s.tooDeep();
    out.error = s.tooDeep() ? "pull response: " + s.error() : "pull response: not valid JSON (" + s.error() + ")";
  };
  if (s.peek() != '{') {
    std::string_view ignored;
    if (!s.skipValue(0, &ignored) || !s.atEnd()) {
      syntaxError();
      return out;
    }
    out.error = "pull response is not a JSON object";
    return out;
  }
  s.expect('{');
  std::optional<std::string_view> cookie, lmids, error, versionType;
  bool hasPatch = false, patchIsArray = false;
  std::vector<RawOp> ops;
  if (s.peek() == '}') {
    s.expect('}');
  } else {
    std::string name;
    while (true) {
      if (!s.readString(&name) || !s.expect(':')) {
        syntaxError();
        return out;
      }
      if (name == "patch" && s.peek() == '[') {
        hasPatch = patchIsArray = true;
        ops.clear();
        s.expect('[');
        if (s.peek() == ']') {
          s.expect(']');
        } else {
          while (true) {
            if (s.peek() == '{') {
              RawOp op;
              if (!scanOp(s, &op)) {
                syntaxError();
                return out;
              }
              ops.push_back(std::move(op));
            } else {
              std::string_view ignored;
              if (!s.skipValue(2, &ignored)) {
                syntaxError();
                return out;
              }
              ops.emplace_back();
              ops.back().notObject = true;  // reported after the syntax check
            }
            char next = s.peek();
            if (next == ']') {
              s.expect(']');
              break;
            }
            if (!s.expect(',')) {
              syntaxError();
              return out;
            }
          }
        }
      } else {
        std::string_view span;
        if (!s.skipValue(1, &span)) {
          syntaxError();
          return out;
        }
        if (name == "cookie") cookie = span;
        else if (name == "lastMutationIDChanges") lmids = span;
        else if (name == "error") error = span;
        else if (name == "versionType") versionType = span;
        else if (name == "patch") hasPatch = true, patchIsArray = false;
      }
      char next = s.peek();
      if (next == '}') {
        s.expect('}');
        break;
      }
      if (!s.expect(',')) {
        syntaxError();
        return out;
      }
    }
  }
  if (!s.atEnd()) {
    out.notJson = true;
    out.error = "pull response: not valid JSON (text after the end of the object)";
    return out;
  }

  if (error) {
    PullResult errorResult;
    std::string message;
    parseErrorBody(error, versionType, &errorResult, &message);
    if (!message.empty()) {
      out.error = "pull response: " + message;
    } else {
      out.result = std::move(errorResult);
    }
    return out;
  }

  PullSuccess success;
  if (!cookie) {
    out.error = "pull response has no 'cookie'";
    return out;
  }
  std::optional<Cookie> parsedCookie = Cookie::fromText(*cookie);
  if (!parsedCookie) {
    out.error = "pull response has an invalid cookie (null, string, finite number or {order})";
    return out;
  }
  success.cookie = std::move(*parsedCookie);
  std::vector<JsonMember> lmidMembers;
  if (!lmids || !readJsonObject(*lmids, limits.maxDepth, &lmidMembers)) {
    out.error = "pull response has no object 'lastMutationIDChanges'";
    return out;
  }
  for (const JsonMember& m : lmidMembers) {
    uint64_t id = 0;
    if (!asSafeUnsigned(m.value, &id)) {
      out.error = "lastMutationIDChanges['" + m.key.substr(0, 80) + "'] is not a non-negative safe integer";
      return out;
    }
    success.lastMutationIDChanges[m.key] = id;
  }
  if (!hasPatch || !patchIsArray) {
    out.error = "pull response has no array 'patch'";
    return out;
  }
  success.patch.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].notObject) {
      out.error = "pull response: " + describeOp(i) + " is not an object";
      return out;
    }
    PatchOp op;
    if (!checkOp(ops[i], i, &op, &out.error)) {
      out.error = "pull response: " + out.error;
      return out;
    }
    success.patch.push_back(std::move(op));
  }
  out.result = std::move(success);
  return out;
}

PushResult parsePushResponse(std::string_view text) {
  std::vector<JsonMember> members;
  if (!readJsonObject(text, 64, &members)) return std::monostate{};
  std::optional<std::string_view> error, versionType;
  for (const JsonMember& m : members) {
    if (m.key == "error") error = m.value;
    if (m.key == "versionType") versionType = m.value;
  }
  PushResult result;
  std::string unknown;
  if (parseErrorBody(error, versionType, &result, &unknown) && unknown.empty()) return result;
  return std::monostate{};
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
