// The JSON text reader and writer the core uses instead of a JSON library
// (core/include/replicore/json_text.h). Each result is checked against
// nlohmann, the reference parser of the native tests.
#include "replicore/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "replicore/protocol.h"
#include "replicore/replica.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

std::string Num(double d) {
  std::string out;
  appendJsonNumber(out, d);
  return out;
}

TEST(JsonText, StringsEscapeWhatJsonRequires) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(Str(std::string("a\0b\n\x1f", 5)), "\"a\\u0000b\\u000a\\u001f\"");
  EXPECT_EQ(Str("\xc3\xa9\xf0\x9f\x98\x80"), "\"\xc3\xa9\xf0\x9f\x98\x80\"");  // UTF-8 kept as is
  for (std::string s : {std::string("x\0y", 3), std::string("\"\\/\b\f\r\t"), std::string("\xe6\x97\xa5")}) {
    EXPECT_EQ(Json::parse(Str(s)).get<std::string>(), s);
  }
}

TEST(JsonText, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // A stray continuation byte, a truncated sequence, an overlong form, an
  // encoded surrogate: each is replaced, and the output is valid JSON.
  for (std::string bad : {"a\x80" "b", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80"}) {
    std::string out = Str(bad);
    Json parsed = Json::parse(out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << out;
    EXPECT_NE(parsed.get<std::string>().find("\xef\xbf\xbd"), std::string::npos) << out;
  }
  EXPECT_EQ(Str("a\x80" "b"), "\"a\xef\xbf\xbd" "b\"");
}

TEST(JsonText, ZeroAppendsWithoutLookingAtWhatIsAlreadyThere) {
  // Zero used to peek at out.back() (undefined on an empty string) and drop
  // a '-' that belonged to the text before it.
  std::string out = "range:-";
  appendJsonNumber(out, 0);
  EXPECT_EQ(out, "range:-0");
  out = "x-";
  appendJsonNumber(out, -0.0);
  EXPECT_EQ(out, "x-0");
  out.clear();
  appendJsonNumber(out, -0.0);
  EXPECT_EQ(out, "0");
}

TEST(JsonText, NumbersPrintAsJavaScriptPrintsThem) {
  EXPECT_EQ(Num(0), "0");
  EXPECT_EQ(Num(-0.0), "0");
  EXPECT_EQ(Num(42), "42");
  EXPECT_EQ(Num(-7), "-7");
  EXPECT_EQ(Num(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(Num(1.5), "1.5");
  EXPECT_EQ(Num(0.1), "0.1");
  EXPECT_EQ(Num(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Num(1234.5678), "1234.5678");
  EXPECT_EQ(Num(1e21), "1e+21");
  EXPECT_EQ(Num(1.5e300), "1.5e+300");
  EXPECT_EQ(Num(0.000001), "0.000001");
  EXPECT_EQ(Num(1e-7), "1e-7");
  EXPECT_EQ(Num(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Num(std::nan("")), "null");
}

// The significant digits of a printed number: no sign, point, exponent,
// or leading and trailing zeros.
std::string Significant(const std::string& text) {
  std::string digits;
  for (char c : text.substr(0, text.find_first_of("eE"))) {
    if (c >= '0' && c <= '9') digits += c;
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "";
  digits.erase(0, first);
  while (digits.back() == '0') digits.pop_back();
  return digits;
}

TEST(JsonText, EveryNumberReadsBackExactlyInItsShortestForm) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> exp10(-300, 300);
  for (int i = 0; i < 20000; ++i) {
    double d = unit(rng) * std::pow(10.0, exp10(rng));
    if (i % 3 == 0) d = unit(rng) * 1e6;  // timestamps: performance.now()
    if (i % 5 == 0) d = -d;
    std::string text = Num(d);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    // No longer than nlohmann's short form (Grisu2, itself shortest in most cases).
    EXPECT_LE(Significant(text).size(), Significant(Json(d).dump()).size()) << text << " vs " << Json(d).dump();
  }
  EXPECT_EQ(std::strtod(Num(5e-324).c_str(), nullptr), 5e-324);
  EXPECT_EQ(std::strtod(Num(1.7976931348623157e308).c_str(), nullptr), 1.7976931348623157e308);
}

TEST(JsonText, ObjectMembersInOrderWithTheLastValueOfARepeatedKey) {
  std::vector<JsonMember> m;
  ASSERT_TRUE(readJsonObject(R"( {"b":1, "a" : [1,{"x":2}], "b":"two", "\u00e9":null} )", 8, &m));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].key, "b");
  EXPECT_EQ(m[0].value, "\"two\"");
  EXPECT_EQ(m[1].key, "a");
  EXPECT_EQ(m[1].value, R"([1,{"x":2}])");
  EXPECT_EQ(m[2].key, "\xc3\xa9");
  EXPECT_EQ(m[2].value, "null");
  ASSERT_TRUE(readJsonObject("{}", 1, &m));
  EXPECT_TRUE(m.empty());
}

TEST(JsonText, ObjectReaderRefusesAnythingElse) {
  std::vector<JsonMember> m;
  std::string error;
  for (const char* bad : {"", "[]", "null", "\"{}\"", "{", "{\"a\"}", "{\"a\":1,}", "{\"a\":1} x", "{a:1}",
                          "{\"a\":01}", "{\"a\":\"\x80\"}"}) {
    error.clear();
    EXPECT_FALSE(readJsonObject(bad, 8, &m, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_TRUE(m.empty()) << bad;
  }
  EXPECT_FALSE(readJsonObject(R"({"a":[[1]]})", 2, &m));
  EXPECT_TRUE(readJsonObject(R"({"a":[[1]]})", 3, &m));
}

TEST(JsonText, ScalarsReadStrictly) {
  EXPECT_EQ(readJsonString(R"("a\u00e9\n")"), std::optional<std::string>("a\xc3\xa9\n"));
  EXPECT_EQ(readJsonString(R"("\ud800")"), std::optional<std::string>("\xef\xbf\xbd"));
  EXPECT_FALSE(readJsonString("'a'"));
  EXPECT_FALSE(readJsonString("\"a\" 1"));
  EXPECT_EQ(readJsonNumber(" -12.5e1 "), std::optional<double>(-125));
  EXPECT_FALSE(readJsonNumber("1e400"));
  EXPECT_FALSE(readJsonNumber("+1"));
  EXPECT_FALSE(readJsonNumber("\"1\""));
  EXPECT_TRUE(isValidJson(R"([1,{"a":null}])", 3));
  EXPECT_FALSE(isValidJson(R"([1,{"a":null}])", 1));
  EXPECT_FALSE(isValidJson("[1] [2]", 3));
}

// --- Cookies kept as text ----------------------------------------------------

TEST(CookieText, PullSendsTheCookieBackAsReceived) {
  // An object cookie with fields the client does not know, spelled with
  // escapes and a big integer no double holds: it goes back byte for byte.
  std::string text = R"({"order":12345678901234567890,"shard":"\u00e9","v":[1.50,2]})";
  std::optional<Cookie> c = Cookie::fromText(text);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->text(), text);
  std::string body = buildPullBody({"p", "g", "s"}, *c);
  EXPECT_NE(body.find("\"cookie\":" + text + ","), std::string::npos) << body;
  EXPECT_EQ(Json::parse(body)["cookie"], Json::parse(text));
}

TEST(CookieText, IntegersCompareExactlyBeyondDoublePrecision) {
  auto cookie = [](const char* t) { return *Cookie::fromText(t); };
  EXPECT_LT(compareCookies(cookie("9007199254740993"), cookie("9007199254740994")), 0);
  EXPECT_GT(compareCookies(cookie("-9007199254740993"), cookie("-9007199254740994")), 0);
  EXPECT_LT(compareCookies(cookie(R"({"order":12345678901234567890})"), cookie("12345678901234567891")), 0);
  EXPECT_EQ(compareCookies(cookie("100"), cookie("1e2")), 0);
  // A number against a string: as JavaScript's String() prints the number.
  EXPECT_EQ(compareCookies(cookie("1e2"), cookie("\"100\"")), 0);
  EXPECT_EQ(compareCookies(cookie("1e21"), cookie("\"1e+21\"")), 0);
}

// --- Update ops merge JSON text ---------------------------------------------------

TEST(UpdateText, MergeKeepsKeyOrderAndValueSpellingAndRefusesNonObjects) {
  Replica r(testing::Options("c1"));
  PatchOp put;
  put.kind = PatchOpKind::kPut;
  put.key = "o";
  put.value = Value::fromText(R"({"z":1.50,"a":"\u00e9","m":[1, 2]})");
  PatchOp update;
  update.kind = PatchOpKind::kUpdate;
  update.key = "o";
  update.merge = Value::fromText(R"({"a":{"n":true},"new":0.10})");
  PullSuccess pull;
  pull.cookie = 1;
  pull.patch = {put, update};
  PullOutcome o = r.applyPull(pull, nullptr);
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  // The current keys stay in place, new keys follow, as {...current,
  // ...merge} orders them; untouched values keep their spelling.
  EXPECT_EQ(r.read()->get("o")->text(), R"({"z":1.50,"a":{"n":true},"m":[1, 2],"new":0.10})");

  PatchOp constrain;
  constrain.kind = PatchOpKind::kUpdate;
  constrain.key = "o";
  constrain.constrain = std::vector<std::string>{"m", "absent"};
  pull.cookie = 2;
  pull.patch = {constrain};
  o = r.applyPull(pull, 1);
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  EXPECT_EQ(r.read()->get("o")->text(), R"({"m":[1, 2]})");

  // An update of a value that is not an object changes nothing.
  PatchOp scalar = put;
  scalar.key = "s";
  scalar.value = Value::fromText("[1]");
  PatchOp bad = update;
  bad.key = "s";
  pull.cookie = 3;
  pull.patch = {scalar, bad};
  o = r.applyPull(pull, 2);
  EXPECT_EQ(o.kind, PullOutcome::Kind::kRejected);
  EXPECT_NE(o.error.find("not an object"), std::string::npos) << o.error;
  EXPECT_EQ(r.cookie().json(), 2);
  EXPECT_FALSE(r.read()->get("s"));
}

}  // namespace
}  // namespace replicore
