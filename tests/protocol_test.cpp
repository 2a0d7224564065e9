// The wire protocol: request bodies, cookies, and strict response parsing.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "replicore/protocol.h"

namespace replicore {
namespace {

RequestIdentity Who() { return {"prof", "group", "schema-3"}; }

// --- Request bodies -------------------------------------------------------------

TEST(ProtocolRequests, PushBodyHasExactlyTheWireFields) {
  std::vector<Mutation> ms;
  ms.push_back({"c1", 1, "createMessage", Value::make(Json{{"text", "hi"}}), 255.64});
  ms.push_back({"c2", 7, "noArgs", nullptr, 1000});  // no args: null
  Json body = Json::parse(buildPushBody(Who(), ms));
  Json expected = Json::parse(R"({
    "profileID":"prof","clientGroupID":"group","pushVersion":1,"schemaVersion":"schema-3",
    "mutations":[
      {"clientID":"c1","id":1,"name":"createMessage","args":{"text":"hi"},"timestamp":255.64},
      {"clientID":"c2","id":7,"name":"noArgs","args":null,"timestamp":1000}]})");
  EXPECT_EQ(body, expected) << body.dump();
  EXPECT_TRUE(body["pushVersion"].is_number_integer());
  EXPECT_TRUE(body["mutations"][0]["id"].is_number_integer());

  Json empty = Json::parse(buildPushBody(Who(), {}));
  EXPECT_EQ(empty["mutations"], Json::array());
}

// A host's args (JSON text) go out exactly as given: never parsed and
// printed again, so key order and number spelling are the host's.
TEST(ProtocolRequests, PushBodyCarriesHostArgsTextVerbatim) {
  const std::string args = R"({"z":1.50,"a":["\u00e9",true],"m":{}})";
  std::vector<Mutation> ms = {{"c1", 3, "m", Value::fromText(args), 12}};
  std::string body = buildPushBody(Who(), ms);
  EXPECT_NE(body.find("\"args\":" + args + ","), std::string::npos) << body;
  Json parsed = Json::parse(body);
  EXPECT_EQ(parsed["mutations"][0]["args"], Json::parse(args));
  EXPECT_EQ(parsed["mutations"][0]["id"], 3);
  EXPECT_EQ(parsed["mutations"][0]["timestamp"], 12);
}

TEST(ProtocolRequests, PullBodyHasExactlyTheWireFields) {
  for (Json cookie : {Json(nullptr), Json(42), Json("abc"), Json{{"order", 5}, {"x", "y"}}}) {
    Json body = Json::parse(buildPullBody(Who(), cookie));
    Json expected = {{"profileID", "prof"},
                     {"clientGroupID", "group"},
                     {"cookie", cookie},
                     {"pullVersion", 1},
                     {"schemaVersion", "schema-3"}};
    EXPECT_EQ(body, expected) << body.dump();
  }
}

TEST(ProtocolRequests, NonAsciiSurvives) {
  std::vector<Mutation> ms = {{"c\xc3\xa9", 1, "m\xe6\x97\xa5", Value::make(Json{{"k", "\xf0\x9f\x98\x80"}}), 1}};
  Json body = Json::parse(buildPushBody({"p", "g\xc3\xbf", ""}, ms));
  EXPECT_EQ(body["clientGroupID"], "g\xc3\xbf");
  EXPECT_EQ(body["mutations"][0]["name"], "m\xe6\x97\xa5");
  EXPECT_EQ(body["mutations"][0]["args"]["k"], "\xf0\x9f\x98\x80");
}

// --- Cookies ------------------------------------------------------------------------

TEST(ProtocolCookies, Validity) {
  for (const char* ok : {"null", "0", "42", "-1", "1.5", "\"\"", "\"abc\"", R"({"order":1})",
                         R"({"order":"x","other":[1,2]})"}) {
    EXPECT_TRUE(Cookie::fromText(ok).has_value()) << ok;
    EXPECT_TRUE(Cookie(Json::parse(ok)).valid()) << ok;
  }
  for (const char* bad : {"true", "false", "[]", "[1]", "{}", R"({"order":null})",
                          R"({"order":true})", R"({"order":[1]})", R"({"order":{"order":1}})",
                          R"({"ord":1})"}) {
    EXPECT_FALSE(Cookie::fromText(bad).has_value()) << bad;
    EXPECT_FALSE(Cookie(Json::parse(bad)).valid()) << bad;
  }
}

int Cmp(const char* a, const char* b) { return compareCookies(*Cookie::fromText(a), *Cookie::fromText(b)); }

TEST(ProtocolCookies, Ordering) {
  // null lowest
  EXPECT_EQ(Cmp("null", "null"), 0);
  EXPECT_LT(Cmp("null", "0"), 0);
  EXPECT_LT(Cmp("null", "-5"), 0);
  EXPECT_LT(Cmp("null", "\"\""), 0);
  EXPECT_LT(Cmp("null", R"({"order":0})"), 0);
  EXPECT_GT(Cmp("0", "null"), 0);
  EXPECT_GT(Cmp("\"a\"", "null"), 0);
  // numbers numerically
  EXPECT_LT(Cmp("9", "10"), 0);
  EXPECT_GT(Cmp("10", "9"), 0);
  EXPECT_EQ(Cmp("10", "10"), 0);
  EXPECT_LT(Cmp("-3", "2"), 0);
  EXPECT_LT(Cmp("1.25", "1.5"), 0);
  EXPECT_EQ(Cmp("2", "2.0"), 0);
  // zero however spelled (found by tests/fuzz/cookie_fuzz: -0 was below 0
  // while both equalled 0e20)
  EXPECT_EQ(Cmp("-0", "0"), 0);
  EXPECT_EQ(Cmp("0", "-0"), 0);
  EXPECT_EQ(Cmp("-0", "0e20"), 0);
  EXPECT_LT(Cmp("-1", "-0"), 0);
  // strings by code units (here: bytes)
  EXPECT_LT(Cmp("\"a\"", "\"b\""), 0);
  EXPECT_LT(Cmp("\"a\"", "\"ab\""), 0);
  EXPECT_EQ(Cmp("\"ab\"", "\"ab\""), 0);
  EXPECT_LT(Cmp("\"10\"", "\"9\""), 0);
  // a string and a number: both as strings, so "10" < "9"
  EXPECT_LT(Cmp("10", "\"9\""), 0);
  EXPECT_GT(Cmp("\"9\"", "10"), 0);
  EXPECT_GT(Cmp("9", "\"10\""), 0);
  EXPECT_EQ(Cmp("5", "\"5\""), 0);
  // objects by order
  EXPECT_LT(Cmp(R"({"order":9})", R"({"order":10})"), 0);
  EXPECT_EQ(Cmp(R"({"order":3,"a":1})", R"({"order":3,"b":2})"), 0);
  EXPECT_LT(Cmp(R"({"order":"10"})", R"({"order":"9"})"), 0);
  EXPECT_LT(Cmp(R"({"order":10})", R"({"order":"9"})"), 0);
  // an object against a bare number or string: by its order
  EXPECT_LT(Cmp(R"({"order":3})", "4"), 0);
  EXPECT_GT(Cmp("4", R"({"order":3})"), 0);
  EXPECT_EQ(Cmp(R"({"order":"x"})", "\"x\""), 0);
}

TEST(ProtocolCookies, OrderingIsAntisymmetric) {
  std::vector<Json> cs = {nullptr, -1, 0, 1, 9, 10, 2.5, "", "1", "10", "9", "a",
                          Json{{"order", 9}}, Json{{"order", "9"}}, Json{{"order", 10}}};
  for (const auto& a : cs) {
    EXPECT_EQ(compareCookies(a, a), 0) << a.dump();
    for (const auto& b : cs) {
      int ab = compareCookies(a, b), ba = compareCookies(b, a);
      EXPECT_EQ(ab < 0, ba > 0) << a.dump() << " vs " << b.dump();
      EXPECT_EQ(ab == 0, ba == 0) << a.dump() << " vs " << b.dump();
    }
  }
}

// --- Pull responses ---------------------------------------------------------------------

const PullSuccess* Success(const ParsedPull& p) {
  if (!p.result) return nullptr;
  return std::get_if<PullSuccess>(&*p.result);
}

TEST(ProtocolPull, ParsesAValidBody) {
  ParsedPull p = parsePullResponse(R"({
    "cookie": 42,
    "lastMutationIDChanges": {"c1": 5, "c2": 0},
    "patch": [
      {"op":"clear"},
      {"op":"put","key":"message/1","value":{"text":"hi"}},
      {"op":"put","key":"n","value":null},
      {"op":"del","key":"message/0"},
      {"op":"update","key":"u","merge":{"a":1},"constrain":["a","b"]},
      {"op":"update","key":"u2"}
    ],
    "extra": {"ignored": true}
  })");
  ASSERT_TRUE(p.error.empty()) << p.error;
  const PullSuccess* s = Success(p);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->cookie.json(), 42);
  EXPECT_EQ(s->lastMutationIDChanges, (std::map<std::string, uint64_t>{{"c1", 5}, {"c2", 0}}));
  ASSERT_EQ(s->patch.size(), 6u);
  EXPECT_EQ(s->patch[0].kind, PatchOpKind::kClear);
  EXPECT_EQ(s->patch[1].kind, PatchOpKind::kPut);
  EXPECT_EQ(s->patch[1].key, "message/1");
  ASSERT_NE(s->patch[1].value, nullptr);
  EXPECT_EQ(s->patch[1].value->json(), (Json{{"text", "hi"}}));
  ASSERT_NE(s->patch[2].value, nullptr);  // put of null is a value
  EXPECT_TRUE(s->patch[2].value->json().is_null());
  EXPECT_EQ(s->patch[3].kind, PatchOpKind::kDel);
  EXPECT_EQ(s->patch[3].key, "message/0");
  EXPECT_EQ(s->patch[4].kind, PatchOpKind::kUpdate);
  ASSERT_TRUE(s->patch[4].merge);
  EXPECT_EQ(s->patch[4].merge->json(), (Json{{"a", 1}}));
  ASSERT_TRUE(s->patch[4].constrain.has_value());
  EXPECT_EQ(*s->patch[4].constrain, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(s->patch[5].merge);
  EXPECT_FALSE(s->patch[5].constrain.has_value());
}

TEST(ProtocolPull, AcceptsEveryCookieShapeAndExtraFieldsInOps) {
  for (const char* cookie : {"null", "\"c-1\"", "3.5", R"({"order":7,"v":"x"})", R"({"order":"o"})"}) {
    std::string body = std::string(R"({"cookie":)") + cookie +
                       R"(,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"k","value":1,"x":2}]})";
    ParsedPull p = parsePullResponse(body);
    const PullSuccess* s = Success(p);
    ASSERT_NE(s, nullptr) << body << ": " << p.error;
    EXPECT_EQ(s->cookie, Json::parse(cookie));
  }
  // Large but safe lmids.
  ParsedPull big = parsePullResponse(
      R"({"cookie":1,"lastMutationIDChanges":{"c":4294967296,"d":9007199254740991},"patch":[]})");
  ASSERT_NE(Success(big), nullptr) << big.error;
  EXPECT_EQ(Success(big)->lastMutationIDChanges.at("c"), 4294967296ull);
  EXPECT_EQ(Success(big)->lastMutationIDChanges.at("d"), 9007199254740991ull);
}

TEST(ProtocolPull, ErrorBodies) {
  ParsedPull a = parsePullResponse(R"({"error":"ClientStateNotFound"})");
  ASSERT_TRUE(a.result.has_value()) << a.error;
  EXPECT_TRUE(std::holds_alternative<ClientStateNotFound>(*a.result));

  ParsedPull b = parsePullResponse(R"({"error":"VersionNotSupported","versionType":"schema"})");
  ASSERT_TRUE(b.result.has_value()) << b.error;
  ASSERT_TRUE(std::holds_alternative<VersionNotSupported>(*b.result));
  EXPECT_EQ(std::get<VersionNotSupported>(*b.result).versionType, "schema");

  ParsedPull c = parsePullResponse(R"({"error":"VersionNotSupported"})");
  ASSERT_TRUE(c.result.has_value()) << c.error;
  ASSERT_TRUE(std::holds_alternative<VersionNotSupported>(*c.result));
  EXPECT_EQ(std::get<VersionNotSupported>(*c.result).versionType, "");

  for (const char* t : {"push", "pull"}) {
    ParsedPull d = parsePullResponse(std::string(R"({"error":"VersionNotSupported","versionType":")") + t + "\"}");
    ASSERT_TRUE(d.result.has_value());
    EXPECT_EQ(std::get<VersionNotSupported>(*d.result).versionType, t);
  }
  // An unknown error is not a success.
  EXPECT_FALSE(parsePullResponse(R"({"error":"SomethingElse"})").result.has_value());
}

struct BadCase {
  const char* name;
  std::string body;
  bool notJson;
};

std::string Body(const std::string& cookie, const std::string& lmids, const std::string& patch) {
  return R"({"cookie":)" + cookie + R"(,"lastMutationIDChanges":)" + lmids + R"(,"patch":)" + patch + "}";
}

std::vector<BadCase> BadCases() {
  std::vector<BadCase> v = {
      {"empty", "", true},
      {"garbage", "hello", true},
      {"truncated", R"({"cookie":1,"lastMutationIDChanges":{},"patch":[)", true},
      {"html", "<html>500</html>", true},
      {"array", "[]", false},
      {"string", "\"x\"", false},
      {"number", "42", false},
      {"null", "null", false},
      {"missing cookie", R"({"lastMutationIDChanges":{},"patch":[]})", false},
      {"missing lmids", R"({"cookie":1,"patch":[]})", false},
      {"missing patch", R"({"cookie":1,"lastMutationIDChanges":{}})", false},
      {"cookie true", Body("true", "{}", "[]"), false},
      {"cookie array", Body("[1]", "{}", "[]"), false},
      {"cookie empty object", Body("{}", "{}", "[]"), false},
      {"cookie object null order", Body(R"({"order":null})", "{}", "[]"), false},
      {"cookie object bool order", Body(R"({"order":false})", "{}", "[]"), false},
      {"lmids array", Body("1", "[]", "[]"), false},
      {"lmids null", Body("1", "null", "[]"), false},
      {"lmid string", Body("1", R"({"c":"5"})", "[]"), false},
      {"lmid null", Body("1", R"({"c":null})", "[]"), false},
      {"lmid negative", Body("1", R"({"c":-1})", "[]"), false},
      {"lmid fractional", Body("1", R"({"c":1.5})", "[]"), false},
      {"lmid above 2^53", Body("1", R"({"c":9007199254740993})", "[]"), false},
      {"lmid 1e20", Body("1", R"({"c":1e20})", "[]"), false},
      {"lmid 2^64", Body("1", R"({"c":18446744073709551616})", "[]"), false},
      {"lmid object", Body("1", R"({"c":{}})", "[]"), false},
      {"patch object", Body("1", "{}", "{}"), false},
      {"patch null", Body("1", "{}", "null"), false},
      {"patch op not object", Body("1", "{}", "[1]"), false},
      {"patch op missing op", Body("1", "{}", R"([{"key":"a","value":1}])"), false},
      {"patch op unknown", Body("1", "{}", R"([{"op":"replace","key":"a","value":1}])"), false},
      {"patch op not string", Body("1", "{}", R"([{"op":1}])"), false},
      {"put without value", Body("1", "{}", R"([{"op":"put","key":"a"}])"), false},
      {"put without key", Body("1", "{}", R"([{"op":"put","value":1}])"), false},
      {"put key not string", Body("1", "{}", R"([{"op":"put","key":5,"value":1}])"), false},
      {"del without key", Body("1", "{}", R"([{"op":"del"}])"), false},
      {"del key null", Body("1", "{}", R"([{"op":"del","key":null}])"), false},
      {"update without key", Body("1", "{}", R"([{"op":"update","merge":{}}])"), false},
      {"update merge array", Body("1", "{}", R"([{"op":"update","key":"a","merge":[1]}])"), false},
      {"update merge string", Body("1", "{}", R"([{"op":"update","key":"a","merge":"x"}])"), false},
      {"update constrain object",
       Body("1", "{}", R"([{"op":"update","key":"a","constrain":{"a":1}}])"), false},
      {"update constrain of numbers",
       Body("1", "{}", R"([{"op":"update","key":"a","constrain":[1,2]}])"), false},
      {"valid then invalid op",
       Body("1", "{}", R"([{"op":"put","key":"a","value":1},{"op":"del"}])"), false},
  };
  return v;
}

TEST(ProtocolPull, RejectsEveryMalformedBody) {
  for (const BadCase& c : BadCases()) {
    ParsedPull p = parsePullResponse(c.body);
    EXPECT_FALSE(p.result.has_value()) << c.name << ": " << c.body;
    EXPECT_FALSE(p.error.empty()) << c.name;
    if (c.notJson) EXPECT_TRUE(p.notJson) << c.name;
    else EXPECT_FALSE(p.notJson) << c.name;
  }
}

TEST(ProtocolPull, DeepNestingDoesNotCrash) {
  for (int depth : {ParseLimits{}.maxDepth + 1, 1000, 10000, 100000}) {
    std::string nested = std::string(depth, '[') + std::string(depth, ']');
    ParsedPull a = parsePullResponse(nested);
    EXPECT_FALSE(a.result.has_value()) << depth;
    EXPECT_FALSE(a.error.empty());
    // Deep inside a valid-looking body (a put value).
    ParsedPull b = parsePullResponse(Body("1", "{}", R"([{"op":"put","key":"a","value":)" + nested + "}]"));
    EXPECT_FALSE(b.result.has_value()) << depth;
    std::string objects;
    for (int i = 0; i < depth; ++i) objects += R"({"a":)";
    objects += "1";
    objects += std::string(depth, '}');
    EXPECT_FALSE(parsePullResponse(Body(objects, "{}", "[]")).result.has_value()) << depth;
  }
  // Nesting within the limit is fine.
  std::string ok = std::string(20, '[') + std::string(20, ']');
  EXPECT_NE(Success(parsePullResponse(Body("1", "{}", R"([{"op":"put","key":"a","value":)" + ok + "}]"))),
            nullptr);
}

TEST(ProtocolPull, HugeNumbersAndLimits) {
  // 1e400 does not fit a double: not a valid body, and no crash or inf.
  ParsedPull a = parsePullResponse(Body("1", "{}", R"([{"op":"put","key":"a","value":1e400}])"));
  EXPECT_FALSE(a.result.has_value());
  ParsedPull b = parsePullResponse(Body("1e400", "{}", "[]"));
  EXPECT_FALSE(b.result.has_value());
  ParsedPull c = parsePullResponse(Body("1", R"({"c":1e400})", "[]"));
  EXPECT_FALSE(c.result.has_value());

  // The body size limit.
  ParseLimits small;
  small.maxBodyBytes = 100;
  std::string body = Body("1", "{}", R"([{"op":"put","key":"a","value":")" + std::string(200, 'x') + "\"}]");
  EXPECT_NE(Success(parsePullResponse(body)), nullptr);
  EXPECT_FALSE(parsePullResponse(body, small).result.has_value());
  // The depth limit is the caller's.
  ParseLimits shallow;
  shallow.maxDepth = 5;
  std::string deep = Body("1", "{}", R"([{"op":"put","key":"a","value":[[[[[[1]]]]]]}])");
  EXPECT_NE(Success(parsePullResponse(deep)), nullptr);
  EXPECT_FALSE(parsePullResponse(deep, shallow).result.has_value());
}

TEST(ProtocolJson, ParseJsonLimited) {
  std::string err;
  auto ok = parseJsonLimited(R"({"a":[1,{"b":2}]})", 10, &err);
  ASSERT_TRUE(ok.has_value()) << err;
  EXPECT_EQ((*ok)["a"][1]["b"], 2);
  err.clear();
  EXPECT_FALSE(parseJsonLimited("[[[[[[[[[[[[1]]]]]]]]]]]]", 5, &err).has_value());
  EXPECT_FALSE(err.empty());
  err.clear();
  EXPECT_FALSE(parseJsonLimited("{", 5, &err).has_value());
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(parseJsonLimited(std::string(1000000, '['), 100, &err).has_value());
  EXPECT_TRUE(parseJsonLimited("[[1]]", 5, &err).has_value());
  // Strings that look like nesting are not nesting.
  EXPECT_TRUE(parseJsonLimited("\"" + std::string(1000, '[') + "\"", 5, &err).has_value());
  // A lone surrogate escape is JSON, but no Json can hold it: refused, not
  // returned as a "discarded" value (found by tests/fuzz/json_fuzz).
  EXPECT_FALSE(parseJsonLimited(R"("a\ud800")", 5, &err).has_value());
  EXPECT_NE(err.find("surrogate"), std::string::npos) << err;
}

// --- Push responses ------------------------------------------------------------------------

TEST(ProtocolPush, ParsesPushResponses) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse("")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse("{}")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse("not json")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse("[1,2]")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse(R"({"error":"Other"})")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(parsePushResponse(std::string(100000, '['))));
  EXPECT_TRUE(std::holds_alternative<ClientStateNotFound>(parsePushResponse(R"({"error":"ClientStateNotFound"})")));
  PushResult v = parsePushResponse(R"({"error":"VersionNotSupported","versionType":"push"})");
  ASSERT_TRUE(std::holds_alternative<VersionNotSupported>(v));
  EXPECT_EQ(std::get<VersionNotSupported>(v).versionType, "push");
  PushResult w = parsePushResponse(R"({"error":"VersionNotSupported"})");
  ASSERT_TRUE(std::holds_alternative<VersionNotSupported>(w));
  EXPECT_EQ(std::get<VersionNotSupported>(w).versionType, "");
}

}  // namespace
}  // namespace replicore

namespace replicore {
namespace {

// The pull body is validated by a single-pass scanner that keeps put values
// as text: these cases pin what it must accept and reject.
TEST(ProtocolPullScanner, ValuesAreKeptVerbatimAndParseOnDemand) {
  ParsedPull p = parsePullResponse(
      R"({"cookie":3,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"k","value": {"b" : [1, 2.5e3, "\u00e9"], "a":null} }]})");
  ASSERT_TRUE(p.result.has_value()) << p.error;
  const auto& op = std::get<PullSuccess>(*p.result).patch.at(0);
  EXPECT_EQ(op.value->text(), R"({"b" : [1, 2.5e3, "\u00e9"], "a":null})");
  EXPECT_EQ(op.value->parsedIfAny(), nullptr);
  EXPECT_EQ(op.value->json(), Json::parse(R"({"a":null,"b":[1,2500.0,"é"]})"));
}

TEST(ProtocolPullScanner, EscapedAndRepeatedMemberNames) {
  // "co\u006fkie" is "cookie"; a repeated member counts the last time.
  ParsedPull p = parsePullResponse(
      R"({"co\u006fkie":1,"cookie":2,"lastMutationIDChanges":{},"patch":[{"op":"del","k\u0065y":"x\ny"}]})");
  ASSERT_TRUE(p.result.has_value()) << p.error;
  const auto& success = std::get<PullSuccess>(*p.result);
  EXPECT_EQ(success.cookie.json(), 2);
  EXPECT_EQ(success.patch.at(0).key, "x\ny");
  // Surrogate pairs decode to one code point in keys.
  ParsedPull q = parsePullResponse(
      R"({"cookie":1,"lastMutationIDChanges":{},"patch":[{"op":"del","key":"\ud83d\ude00"}]})");
  ASSERT_TRUE(q.result.has_value()) << q.error;
  EXPECT_EQ(std::get<PullSuccess>(*q.result).patch.at(0).key, "\xF0\x9F\x98\x80");
}

TEST(ProtocolPullScanner, RejectsWhatJsonDoesNotAllow) {
  const std::string good = R"({"cookie":1,"lastMutationIDChanges":{},"patch":[]})";
  ASSERT_TRUE(parsePullResponse(good).result.has_value());
  for (const std::string& bad : {
           good + "x",                                                        // trailing text
           good + "{}",                                                       // two values
           std::string(R"({"cookie":1,"lastMutationIDChanges":{},"patch":[],})"),  // trailing comma
           std::string(R"({"cookie":01,"lastMutationIDChanges":{},"patch":[]})"),  // leading zero
           std::string(R"({"cookie":1.,"lastMutationIDChanges":{},"patch":[]})"),
           std::string(R"({"cookie":'a',"lastMutationIDChanges":{},"patch":[]})"),
           std::string("{\"cookie\":\"a\x01\",\"lastMutationIDChanges\":{},\"patch\":[]}"),  // control char
           std::string("{\"cookie\":\"\xC3\",\"lastMutationIDChanges\":{},\"patch\":[]}"),   // truncated UTF-8
           std::string("{\"cookie\":\"\xED\xA0\x80\",\"lastMutationIDChanges\":{},\"patch\":[]}"),  // encoded surrogate
           std::string(R"({"cookie":"\x","lastMutationIDChanges":{},"patch":[]})"),  // bad escape
           std::string(R"({"cookie":tru,"lastMutationIDChanges":{},"patch":[]})"),
           std::string(R"({"cookie":1,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"a","value":}]})"),
           std::string(R"({"cookie":1 "lastMutationIDChanges":{},"patch":[]})"),
       }) {
    ParsedPull p = parsePullResponse(bad);
    EXPECT_FALSE(p.result.has_value()) << bad;
    EXPECT_TRUE(p.notJson) << bad << " -> " << p.error;
  }
}

TEST(ProtocolPullScanner, PatchElementsThatAreNotObjects) {
  for (const char* patch : {"[1]", "[null]", "[[]]", R"(["put"])"}) {
    ParsedPull p = parsePullResponse(std::string(R"({"cookie":1,"lastMutationIDChanges":{},"patch":)") + patch + "}");
    EXPECT_FALSE(p.result.has_value()) << patch;
    EXPECT_FALSE(p.notJson) << patch;
    EXPECT_NE(p.error.find("patch[0]"), std::string::npos) << p.error;
  }
}

}  // namespace
}  // namespace replicore

// --- Strictness of the pull parser, value by value ------------------------------------
//
// Values of a pull are kept as text and parsed later, on first read. So the
// parser must accept exactly the texts that parse as JSON later: a value it
// lets through that fails to parse later would blow up in a reader (a
// mutator, a subscription) long after the pull was applied.

namespace replicore {
namespace {

std::string PutBody(const std::string& valueText) {
  return R"({"cookie":1,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"k","value":)" + valueText + "}]}";
}

// True when nlohmann (strict RFC 8259) accepts `text` as one JSON value.
bool ReferenceAccepts(const std::string& text) {
  return !Json::parse(text, nullptr, false).is_discarded();
}

// A lone UTF-16 surrogate escape ("\ud800" not followed by a low one, or a
// lone "\udc00"): JavaScript's JSON.parse takes it, strict UTF-8 JSON does
// not. The core takes it like JavaScript (a key decodes it to U+FFFD), so
// such a text may be accepted, but then it must still read as JSON.
std::string WithLoneSurrogatesReplaced(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    auto hexAt = [&](size_t at, unsigned* v) {
      if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') return false;
      return std::sscanf(text.substr(at + 2, 4).c_str(), "%4x", v) == 1 &&
             text.substr(at + 2, 4).find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    };
    unsigned v = 0, w = 0;
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (hexAt(i, &v) && v >= 0xD800 && v <= 0xDFFF) {
      if (v <= 0xDBFF && hexAt(i + 6, &w) && w >= 0xDC00 && w <= 0xDFFF) {
        out += text.substr(i, 12);
        i += 11;
      } else {
        out += "\\ufffd";
        i += 5;
      }
      continue;
    }
    out += text[i];
  }
  return out;
}

void ExpectConsistent(const std::string& valueText) {
  SCOPED_TRACE("value text: " + valueText);
  std::string replaced = WithLoneSurrogatesReplaced(valueText);
  bool reference = ReferenceAccepts(valueText);
  bool lenient = !reference && replaced != valueText && ReferenceAccepts(replaced);
  ParsedPull p = parsePullResponse(PutBody(valueText));
  const PullSuccess* s = p.result ? std::get_if<PullSuccess>(&*p.result) : nullptr;
  if (!lenient) {
    EXPECT_EQ(s != nullptr, reference) << (s ? "accepted what JSON rejects" : "rejected valid JSON: " + p.error);
  }
  if (s && (reference || lenient)) {
    ASSERT_EQ(s->patch.size(), 1u);
    ASSERT_NE(s->patch[0].value, nullptr);
    Json got;
    // Accepted values are parsed lazily: reading one must never throw.
    ASSERT_NO_THROW(got = s->patch[0].value->json()) << "accepted, but unreadable later";
    EXPECT_EQ(got, Json::parse(replaced));
  }
}

TEST(ProtocolStrictness, ValueTextsAcceptedExactlyWhenTheyAreJson) {
  const std::vector<std::string> texts = {
      // valid
      "0", "-0", "1", "-1", "1.5", "1e5", "1E+5", "1e-5", "-1.25e-3", "123456789012345678901234567890",
      "1.7976931348623157e308", "true", "false", "null", "\"\"", "\"abc\"", R"("\"\\\/\b\f\n\r\t")",
      R"("\u0041\u00e9\u65e5")", R"("\ud83d\ude00")", "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"",
      "[]", "[1,2,3]", "{}", R"({"a":{"b":[null,true,{"c":"d"}]}})", " [ 1 , 2 ] ", "\t{\n\"a\" : 1\r}",
      R"("\u0000")", R"({"":1})", R"({"a":1,"a":2})",
      // invalid
      "", "01", "-01", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-", "0x10", "NaN", "Infinity", "-Infinity",
      "tru", "nul", "True", "NULL", "'a'", "\"abc", "abc\"", R"("\x41")", R"("\u12")", R"("\u12G4")",
      "\"a\nb\"", "\"a\tb\"", std::string("\"a\x01" "b\""), "[1,]", "[,1]", "[1 2]", "{\"a\":1,}",
      "{a:1}", "{\"a\" 1}", "{\"a\":}", "{1:2}", "[1]]", "{\"a\":1}}", "[", "{", "1 2", "[] []",
      "/*c*/1", "1 //c", "\"\xff\"", "\"\xc3\"", "\"\xc3\x28\"", "\"\xe6\x97\"", "\"\xed\xa0\x80\"",
      "\"\xf8\x88\x80\x80\x80\"", "\"\xc0\xaf\"", "\"\xf4\x90\x80\x80\"", R"("\ud800")",
      R"("\udc00")", R"("\ud800\u0041")", "1e400", "-1e400",
  };
  for (const std::string& t : texts) ExpectConsistent(t);
}

TEST(ProtocolStrictness, KeysAndCookiesDecodeEscapes) {
  ParsedPull p = parsePullResponse(
      R"({"cookie":{"order":"\u00e9\n"},"lastMutationIDChanges":{"c\u00e9":3},)"
      R"("patch":[{"op":"put","key":"a\u0000b","value":1},{"op":"del","key":"\ud83d\ude00"},)"
      R"({"op":"put","key":"\"q\"","value":2}]})");
  const PullSuccess* s = p.result ? std::get_if<PullSuccess>(&*p.result) : nullptr;
  ASSERT_NE(s, nullptr) << p.error;
  EXPECT_EQ(s->cookie.json(), (Json{{"order", "\xc3\xa9\n"}}));
  EXPECT_EQ(s->lastMutationIDChanges.count("c\xc3\xa9"), 1u);
  ASSERT_EQ(s->patch.size(), 3u);
  EXPECT_EQ(s->patch[0].key, std::string("a\0b", 3));
  EXPECT_EQ(s->patch[1].key, "\xf0\x9f\x98\x80");
  EXPECT_EQ(s->patch[2].key, "\"q\"");
  // Invalid text in a key or a field name is rejected too.
  // A lone surrogate in a key decodes to U+FFFD (JavaScript keeps it; UTF-8 cannot).
  ParsedPull lone = parsePullResponse(R"({"cookie":1,"lastMutationIDChanges":{},"patch":[{"op":"del","key":"a\ud800"}]})");
  if (lone.result) {
    ASSERT_TRUE(std::holds_alternative<PullSuccess>(*lone.result));
    EXPECT_EQ(std::get<PullSuccess>(*lone.result).patch.at(0).key, "a\xef\xbf\xbd");
  }
  EXPECT_FALSE(parsePullResponse("{\"cookie\":1,\"lastMutationIDChanges\":{\"\xff\":1},\"patch\":[]}")
                   .result.has_value());
}

// Random byte edits of valid bodies: the parser and strict JSON agree on
// every one, and nothing it accepts fails to read later.
TEST(ProtocolStrictness, FuzzedBodiesAgreeWithStrictJson) {
  const std::vector<std::string> seeds = {
      R"({"a":[1,-2.5e3,true,null,"x\u00e9\n"],"b":{"c":{}}})",
      "[\"\xe6\x97\xa5\xf0\x9f\x98\x80\",0.1,\"\\ud83d\\ude00\",{\"k\":[[[]]]}]",
      R"("\\\"\/\b\f\n\r\t")",
      "-0.0e-0",
  };
  const std::string alphabet = "{}[],:\"\\u0123456789abcdefEe.+-tnrl \x80\xbf\xc3\xed\xf0\xff";
  std::mt19937_64 rng(12345);
  int accepted = 0, total = 0;
#ifdef REPLICORE_TEST_WASM
  const int rounds = 3000;
#else
  const int rounds = 20000;
#endif
  for (int i = 0; i < rounds; ++i) {
    std::string t = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !t.empty(); ++e) {
      size_t pos = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: t.erase(pos, 1); break;
        default: t.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    bool reference = ReferenceAccepts(t);
    ParsedPull p = parsePullResponse(PutBody(t));
    const PullSuccess* s = p.result ? std::get_if<PullSuccess>(&*p.result) : nullptr;
    ++total;
    if (s) ++accepted;
    std::string replaced = WithLoneSurrogatesReplaced(t);
    if (!reference && replaced != t && ReferenceAccepts(replaced)) {
      ExpectConsistent(t);  // the lenient lone-surrogate case
      if (::testing::Test::HasFatalFailure()) return;
      continue;
    }
    ASSERT_EQ(s != nullptr, reference) << "value text: " << Json(t).dump(-1, ' ', true)
                                       << (s ? " accepted but is not JSON" : " rejected but is JSON: " + p.error);
    if (s) {
      Json got;
      ASSERT_NO_THROW(got = s->patch.at(0).value->json()) << t;
      ASSERT_EQ(got, Json::parse(t));
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, total);
}

}  // namespace
}  // namespace replicore

namespace replicore {
namespace {

// Mutation args come from the host. A JavaScript string with a lone
// surrogate reaches C++ as WTF-8 ("\xed\xa0\x80"), which is not UTF-8; a
// C++ host may pass any bytes. Building the push body must not throw (it
// runs inside a timer, and would fail every push from then on): it has to
// produce JSON the server can read.
TEST(ProtocolRequests, PushBodyWithBytesThatAreNotUtf8) {
  for (const std::string& bad : {std::string("\xed\xa0\x80"), std::string("a\xff" "b"), std::string("\xc3")}) {
    SCOPED_TRACE(Json(bad).dump(-1, ' ', true, Json::error_handler_t::replace));
    std::vector<Mutation> ms = {{"c1", 1, "put", Value::make(Json{{"key", "k"}, {"value", bad}}), 1}};
    std::string body;
    ASSERT_NO_THROW(body = buildPushBody(Who(), ms));
    Json parsed = Json::parse(body, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << body;
    EXPECT_EQ(parsed["mutations"][0]["id"], 1);
    EXPECT_EQ(parsed["mutations"][0]["args"]["key"], "k");
    EXPECT_TRUE(parsed["mutations"][0]["args"]["value"].is_string());
  }
}

}  // namespace
}  // namespace replicore
