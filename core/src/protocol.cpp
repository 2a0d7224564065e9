#include "replicore/protocol.h"

#include "json_scanner.h"

#include <cmath>
#include <set>

namespace replicore {

namespace {

// Integers above this lose precision in JavaScript, so no lmid may exceed it.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// Finds the deepest nesting of arrays and objects without building anything,
// so that a hostile body cannot exhaust the stack of a recursive consumer.
// Returns false as soon as the depth passes `maxDepth`.
bool nestingWithin(std::string_view text, int maxDepth) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// A non-negative integer that JavaScript represents exactly.
bool asSafeUnsigned(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (static_cast<double>(u) > kMaxSafeInteger) return false;
    *out = u;
    return true;
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return false;
    *out = static_cast<uint64_t>(i);
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > kMaxSafeInteger || std::floor(d) != d) return false;
    *out = static_cast<uint64_t>(d);
    return true;
  }
  return false;
}

bool isFiniteNumber(const Json& v) {
  if (!v.is_number()) return false;
  return !v.is_number_float() || std::isfinite(v.get<double>());
}

// The value a cookie is ordered by: itself, or its `order` field.
const Json& orderOf(const Json& cookie) { return cookie.is_object() ? cookie.at("order") : cookie; }

// How JavaScript's String() prints a cookie's order value, near enough for
// ordering: strings as they are, integers without a fraction.
std::string orderText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Request bodies never throw: bytes that are not UTF-8 (args built by C++
// code from arbitrary bytes) become U+FFFD instead.
std::string dumpForWire(const Json& body) { return body.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

Json mutationToJson(const Mutation& m) {
  return Json{{"id", m.id}, {"name", m.name}, {"args", m.args ? m.args->json() : Json(nullptr)}, {"timestamp", m.timestamp},
              {"clientID", m.clientID}};
}

bool isValidCookie(const Json& cookie) {
  if (cookie.is_null() || cookie.is_string()) return true;
  if (cookie.is_number()) return isFiniteNumber(cookie);
  if (cookie.is_object()) {
    auto it = cookie.find("order");
    if (it == cookie.end()) return false;
    return it->is_string() || isFiniteNumber(*it);
  }
  return false;
}

int compareCookies(const Json& a, const Json& b) {
  if (a.is_null() && b.is_null()) return 0;
  if (a.is_null()) return -1;
  if (b.is_null()) return 1;
  const Json& va = orderOf(a);
  const Json& vb = orderOf(b);
  if (va.is_string() || vb.is_string()) {
    int c = orderText(va).compare(orderText(vb));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  double da = va.get<double>();
  double db = vb.get<double>();
  if (da < db) return -1;
  if (da > db) return 1;
  // Large integers differ below double precision: compare them exactly.
  if (va.is_number_integer() && vb.is_number_integer()) {
    if (va.is_number_unsigned() && vb.is_number_unsigned()) {
      auto ua = va.get<uint64_t>(), ub = vb.get<uint64_t>();
      return ua < ub ? -1 : (ua > ub ? 1 : 0);
    }
    auto ia = va.get<int64_t>(), ib = vb.get<int64_t>();
    return ia < ib ? -1 : (ia > ib ? 1 : 0);
  }
  return 0;
}

// Written by hand so that each mutation's args go out as the text the host
// gave (a host's args are never parsed and printed again). Keys in the order
// nlohmann would print them.
std::string buildPushBody(const RequestIdentity& who, const std::vector<Mutation>& mutations) {
  std::string out = "{\"clientGroupID\":" + dumpForWire(Json(who.clientGroupID)) + ",\"mutations\":[";
  bool first = true;
  for (const Mutation& m : mutations) {
    if (!first) out += ',';
    first = false;
    out += "{\"args\":";
    out += m.args ? m.args->text() : std::string("null");
    out += ",\"clientID\":" + dumpForWire(Json(m.clientID));
    out += ",\"id\":" + std::to_string(m.id);
    out += ",\"name\":" + dumpForWire(Json(m.name));
    out += ",\"timestamp\":" + dumpForWire(Json(m.timestamp)) + "}";
  }
  out += "],\"profileID\":" + dumpForWire(Json(who.profileID));
  out += ",\"pushVersion\":1,\"schemaVersion\":" + dumpForWire(Json(who.schemaVersion)) + "}";
  return out;
}

std::string buildPullBody(const RequestIdentity& who, const Json& cookie) {
  Json body{{"profileID", who.profileID},
            {"clientGroupID", who.clientGroupID},
            {"cookie", cookie},
            {"pullVersion", 1},
            {"schemaVersion", who.schemaVersion}};
  return dumpForWire(body);
}

std::optional<Json> parseJsonLimited(std::string_view text, int maxDepth, std::string* error) {
  if (!nestingWithin(text, maxDepth)) {
    if (error) *error = "JSON nests deeper than " + std::to_string(maxDepth) + " levels";
    return std::nullopt;
  }
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    if (error) *error = "not valid JSON";
    return std::nullopt;
  }
  return parsed;
}

namespace {

// Recognizes the two error bodies. Returns true when `body` is an error
// body; `message` is set when it is one we do not know.
template <typename Result>
bool parseErrorBody(const Json& body, Result* result, std::string* message) {
  auto it = body.find("error");
  if (it == body.end()) return false;
  if (*it == "ClientStateNotFound") {
    *result = ClientStateNotFound{};
    return true;
  }
  if (*it == "VersionNotSupported") {
    VersionNotSupported v;
    auto type = body.find("versionType");
    if (type != body.end()) {
      if (!type->is_string() || (*type != "push" && *type != "pull" && *type != "schema")) {
        *message = "VersionNotSupported has an invalid versionType";
        return true;
      }
      v.versionType = type->get<std::string>();
    }
    *result = v;
    return true;
  }
  *message = "unknown error body: " + it->dump().substr(0, 200);
  return true;
}

std::string describeOp(size_t index) { return "patch[" + std::to_string(index) + "]"; }

}  // namespace

namespace {

// Parses a small span (a cookie, lmids, an update's merge) that the scanner
// has validated already.
Json parseSpan(std::string_view span) { return Json::parse(span.begin(), span.end(), nullptr, false); }

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
    Json merge = parseSpan(*raw.merge);
    if (!merge.is_object()) {
      *error = describeOp(index) + " (update) has a 'merge' that is not an object";
      return false;
    }
    op->merge = std::move(merge);
  }
  if (raw.constrain) {
    Json constrain = parseSpan(*raw.constrain);
    if (!constrain.is_array()) {
      *error = describeOp(index) + " (update) has a 'constrain' that is not an array";
      return false;
    }
    std::vector<std::string> keys;
    for (const Json& k : constrain) {
      if (!k.is_string()) {
        *error = describeOp(index) + " (update) has a non-string in 'constrain'";
        return false;
      }
      keys.push_back(k.get<std::string>());
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
  auto syntaxError = [&]() {
    out.notJson = !s.tooDeep();
    out.error = s.tooDeep() ? "pull response: " + s.error() : "pull response: not valid JSON (" + s.error() + ")";
    return out;
  };
  if (s.peek() != '{') {
    std::string_view ignored;
    if (!s.skipValue(0, &ignored) || !s.atEnd()) return syntaxError();
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
      if (!s.readString(&name) || !s.expect(':')) return syntaxError();
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
              if (!scanOp(s, &op)) return syntaxError();
              ops.push_back(std::move(op));
            } else {
              std::string_view ignored;
              if (!s.skipValue(2, &ignored)) return syntaxError();
              ops.emplace_back();
              ops.back().notObject = true;  // reported after the syntax check
            }
            char next = s.peek();
            if (next == ']') {
              s.expect(']');
              break;
            }
            if (!s.expect(',')) return syntaxError();
          }
        }
      } else {
        std::string_view span;
        if (!s.skipValue(1, &span)) return syntaxError();
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
      if (!s.expect(',')) return syntaxError();
    }
  }
  if (!s.atEnd()) {
    out.notJson = true;
    out.error = "pull response: not valid JSON (text after the end of the object)";
    return out;
  }

  if (error) {
    Json body = Json::object();
    body["error"] = parseSpan(*error);
    if (versionType) body["versionType"] = parseSpan(*versionType);
    PullResult errorResult;
    std::string message;
    parseErrorBody(body, &errorResult, &message);
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
  success.cookie = parseSpan(*cookie);
  if (!isValidCookie(success.cookie)) {
    out.error = "pull response has an invalid cookie (null, string, finite number or {order})";
    return out;
  }
  Json lmidJson = lmids ? parseSpan(*lmids) : Json();
  if (!lmidJson.is_object()) {
    out.error = "pull response has no object 'lastMutationIDChanges'";
    return out;
  }
  for (auto it = lmidJson.begin(); it != lmidJson.end(); ++it) {
    uint64_t id = 0;
    if (!asSafeUnsigned(it.value(), &id)) {
      out.error = "lastMutationIDChanges['" + it.key().substr(0, 80) + "'] is not a non-negative safe integer";
      return out;
    }
    success.lastMutationIDChanges[it.key()] = id;
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
  std::string ignored;
  std::optional<Json> parsed = parseJsonLimited(text, 64, &ignored);
  if (!parsed || !parsed->is_object()) return std::monostate{};
  PushResult result;
  std::string unknown;
  if (parseErrorBody(*parsed, &result, &unknown) && unknown.empty()) return result;
  return std::monostate{};
}

}  // namespace replicore
