#include "replicore/protocol.h"

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

}  // namespace

Json mutationToJson(const Mutation& m) {
  return Json{{"id", m.id}, {"name", m.name}, {"args", m.args}, {"timestamp", m.timestamp},
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

std::string buildPushBody(const RequestIdentity& who, const std::vector<Mutation>& mutations) {
  Json list = Json::array();
  for (const Mutation& m : mutations) list.push_back(mutationToJson(m));
  Json body{{"profileID", who.profileID},
            {"clientGroupID", who.clientGroupID},
            {"pushVersion", 1},
            {"schemaVersion", who.schemaVersion},
            {"mutations", std::move(list)}};
  return body.dump();
}

std::string buildPullBody(const RequestIdentity& who, const Json& cookie) {
  Json body{{"profileID", who.profileID},
            {"clientGroupID", who.clientGroupID},
            {"cookie", cookie},
            {"pullVersion", 1},
            {"schemaVersion", who.schemaVersion}};
  return body.dump();
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

bool parsePatchOp(const Json& raw, size_t index, PatchOp* op, std::string* error) {
  if (!raw.is_object()) {
    *error = describeOp(index) + " is not an object";
    return false;
  }
  auto kind = raw.find("op");
  if (kind == raw.end() || !kind->is_string()) {
    *error = describeOp(index) + " has no string 'op'";
    return false;
  }
  const std::string& name = kind->get_ref<const std::string&>();
  if (name == "clear") {
    op->kind = PatchOpKind::kClear;
    return true;
  }
  auto key = raw.find("key");
  if (key == raw.end() || !key->is_string()) {
    *error = describeOp(index) + " (" + name + ") has no string 'key'";
    return false;
  }
  op->key = key->get<std::string>();
  if (name == "put") {
    auto value = raw.find("value");
    if (value == raw.end()) {
      *error = describeOp(index) + " (put) has no 'value'";
      return false;
    }
    op->kind = PatchOpKind::kPut;
    op->value = Value::make(*value);
    return true;
  }
  if (name == "del") {
    op->kind = PatchOpKind::kDel;
    return true;
  }
  if (name == "update") {
    op->kind = PatchOpKind::kUpdate;
    auto merge = raw.find("merge");
    if (merge != raw.end()) {
      if (!merge->is_object()) {
        *error = describeOp(index) + " (update) has a 'merge' that is not an object";
        return false;
      }
      op->merge = *merge;
    }
    auto constrain = raw.find("constrain");
    if (constrain != raw.end()) {
      if (!constrain->is_array()) {
        *error = describeOp(index) + " (update) has a 'constrain' that is not an array";
        return false;
      }
      std::vector<std::string> keys;
      for (const Json& k : *constrain) {
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
  *error = describeOp(index) + " has unknown op '" + name.substr(0, 40) + "'";
  return false;
}

}  // namespace

ParsedPull parsePullResponse(std::string_view text, const ParseLimits& limits) {
  ParsedPull out;
  if (text.size() > limits.maxBodyBytes) {
    out.error = "pull response is larger than " + std::to_string(limits.maxBodyBytes) + " bytes";
    return out;
  }
  std::string jsonError;
  std::optional<Json> parsed = parseJsonLimited(text, limits.maxDepth, &jsonError);
  if (!parsed) {
    out.error = "pull response: " + jsonError;
    out.notJson = jsonError == "not valid JSON";
    return out;
  }
  const Json& body = *parsed;
  if (!body.is_object()) {
    out.error = "pull response is not a JSON object";
    return out;
  }
  PullResult errorResult;
  std::string errorMessage;
  if (parseErrorBody(body, &errorResult, &errorMessage)) {
    if (!errorMessage.empty()) {
      out.error = "pull response: " + errorMessage;
    } else {
      out.result = std::move(errorResult);
    }
    return out;
  }

  PullSuccess success;
  auto cookie = body.find("cookie");
  if (cookie == body.end()) {
    out.error = "pull response has no 'cookie'";
    return out;
  }
  if (!isValidCookie(*cookie)) {
    out.error = "pull response has an invalid cookie (null, string, finite number or {order})";
    return out;
  }
  success.cookie = *cookie;

  auto lmids = body.find("lastMutationIDChanges");
  if (lmids == body.end() || !lmids->is_object()) {
    out.error = "pull response has no object 'lastMutationIDChanges'";
    return out;
  }
  for (auto it = lmids->begin(); it != lmids->end(); ++it) {
    uint64_t id = 0;
    if (!asSafeUnsigned(it.value(), &id)) {
      out.error = "lastMutationIDChanges['" + it.key().substr(0, 80) +
                  "'] is not a non-negative safe integer";
      return out;
    }
    success.lastMutationIDChanges[it.key()] = id;
  }

  auto patch = body.find("patch");
  if (patch == body.end() || !patch->is_array()) {
    out.error = "pull response has no array 'patch'";
    return out;
  }
  success.patch.reserve(patch->size());
  for (size_t i = 0; i < patch->size(); ++i) {
    PatchOp op;
    if (!parsePatchOp((*patch)[i], i, &op, &out.error)) {
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
