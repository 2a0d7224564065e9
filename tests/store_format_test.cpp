// The persisted records: each round-trips, and every torn, truncated,
// altered or foreign record is refused whole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "replicore/store_format.h"

namespace replicore {
namespace {

Head SampleHead() {
  Head h;
  h.seq = 7;
  h.nextNumber = 40;
  h.cookie = Cookie(Json{{"order", 12}, {"v", "x"}});
  h.lastMutationIDs = {{"c1", 5}, {"c2", 9}};
  h.pages = {{3, "", 100}, {8, "k\xc3\xa9y", 2000}, {21, "z", 5}};
  h.clients["c1"] = ClientRecord{1234.5, {{30, 6, 8}, {31, 9, 9}}};
  h.clients["c:2 with spaces"] = ClientRecord{99, {}};
  return h;
}

TEST(StoreFormat, HeadRoundTrips) {
  Head h = SampleHead();
  std::string text = encodeHead(h);
  RecordProblem problem;
  std::optional<Head> back = decodeHead(text, &problem);
  ASSERT_TRUE(back) << problem.message;
  EXPECT_EQ(back->seq, 7u);
  EXPECT_EQ(back->nextNumber, 40u);
  EXPECT_EQ(back->cookie, h.cookie);
  EXPECT_EQ(back->lastMutationIDs, h.lastMutationIDs);
  ASSERT_EQ(back->pages.size(), 3u);
  EXPECT_EQ(back->pages[1].firstKey, "k\xc3\xa9y");
  EXPECT_EQ(back->pages[1].bytes, 2000u);
  ASSERT_EQ(back->clients.size(), 2u);
  EXPECT_EQ(back->clients["c1"].lastActiveMs, 1234.5);
  ASSERT_EQ(back->clients["c1"].chunks.size(), 2u);
  EXPECT_EQ(back->clients["c1"].chunks[0].lastID, 8u);
  EXPECT_TRUE(back->clients["c:2 with spaces"].chunks.empty());
}

TEST(StoreFormat, EveryTruncationAndEveryAlteredByteIsRefused) {
  std::string text = encodeHead(SampleHead());
  for (size_t n = 0; n < text.size(); ++n) {
    RecordProblem problem;
    EXPECT_FALSE(decodeHead(text.substr(0, n), &problem)) << "truncated at " << n;
    EXPECT_NE(problem.kind, RecordError::kNone);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string altered = text;
    altered[i] = char(altered[i] ^ 0x21);
    RecordProblem problem;
    EXPECT_FALSE(decodeHead(altered, &problem)) << "byte " << i << " altered";
  }
  // One byte more is refused as well.
  EXPECT_FALSE(decodeHead(text + " ", nullptr));
}

TEST(StoreFormat, OtherVersionsAreReportedAsSuch) {
  std::string text = encodeHead(SampleHead());
  ASSERT_EQ(text.substr(0, 4), "RC1 ");
  RecordProblem problem;
  EXPECT_FALSE(decodeHead("RC2 " + text.substr(4), &problem));
  EXPECT_EQ(problem.kind, RecordError::kVersion);
  EXPECT_EQ(problem.version, 2);
  EXPECT_FALSE(decodeHead("RC0 " + text.substr(4), &problem));
  EXPECT_EQ(problem.version, 0);
  // A record of another kind is not a head.
  std::string page = encodePage(3, {});
  EXPECT_FALSE(decodeHead(page, &problem));
  EXPECT_EQ(problem.kind, RecordError::kCorrupt);
}

TEST(StoreFormat, PageRoundTripsAndChecksItsKeys) {
  std::string v1 = R"({"a":[1,2,{"b":"\u00e9"}]})", v2 = "null";
  std::string page = encodePage(5, {{"a", v1}, {"b\n:7 ", v2}});
  std::vector<std::pair<std::string, std::string>> got;
  auto collect = [&](std::string_view k, std::string_view v) { got.emplace_back(k, v); };
  RecordProblem problem;
  ASSERT_TRUE(decodePage(page, 5, "", std::nullopt, collect, &problem)) << problem.message;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second, v1);
  EXPECT_EQ(got[1].first, "b\n:7 ");
  // Under another number, or keys outside the page's range: refused, and
  // nothing handed out.
  got.clear();
  EXPECT_FALSE(decodePage(page, 6, "", std::nullopt, collect, &problem));
  EXPECT_FALSE(decodePage(page, 5, "a0", std::nullopt, collect, &problem));
  EXPECT_FALSE(decodePage(page, 5, "", std::string_view("b"), collect, &problem));
  EXPECT_TRUE(got.empty());
  // Keys out of order are refused even with a good checksum.
  std::string unordered = encodePage(5, {{"b", v2}, {"a", v1}});
  EXPECT_FALSE(decodePage(unordered, 5, "", std::nullopt, collect, &problem));
  EXPECT_TRUE(got.empty());
}

TEST(StoreFormat, ChunkRoundTripsAndChecksIds) {
  std::vector<Mutation> ms(2);
  ms[0].clientID = ms[1].clientID = "c1";
  ms[0].id = 4;
  ms[0].name = "put";
  ms[0].args = Value::fromText(R"({"key":"k","value":[1,"x"]})");
  ms[0].timestamp = 1700000000123.25;
  ms[1].id = 5;
  ms[1].name = "del";
  ms[1].args = Value::fromText("null");
  std::string text = encodeChunk(11, "c1", ms).text();
  RecordProblem problem;
  auto back = decodeChunk(text, ChunkRef{11, 4, 5}, "c1", &problem);
  ASSERT_TRUE(back) << problem.message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].args->text(), ms[0].args->text());
  EXPECT_EQ((*back)[0].timestamp, ms[0].timestamp);
  EXPECT_EQ((*back)[1].name, "del");
  EXPECT_EQ((*back)[1].clientID, "c1");
  EXPECT_FALSE(decodeChunk(text, ChunkRef{11, 4, 6}, "c1", &problem));
  EXPECT_FALSE(decodeChunk(text, ChunkRef{11, 4, 5}, "c2", &problem));
  EXPECT_FALSE(decodeChunk(text, ChunkRef{12, 4, 5}, "c1", &problem));
}

// A chunk keeps large args as pieces of their own, read where the mutation
// holds them: the record's text is what one string would have been, frame
// and checksum included, and it decodes back.
TEST(StoreFormat, ChunkKeepsLargeArgsAsPiecesOfTheSameRecord) {
  std::vector<Mutation> ms(3);
  std::string big = "{\"text\":\"" + std::string(kChunkArgsPieceBytes, 'x') + "\"}";
  for (size_t i = 0; i < ms.size(); ++i) {
    ms[i].clientID = "c1";
    ms[i].id = 7 + i;
    ms[i].name = "put";
    ms[i].timestamp = 1700000000000.5 + double(i);
  }
  ms[0].args = Value::fromText(R"({"small":1})");
  ms[1].args = Value::fromText(big);
  ms[2].args = Value::fromText(R"({"small":2})");
  StoreRecord record = encodeChunk(3, "c1", ms);
  ASSERT_EQ(record.pieceCount(), 3u);
  EXPECT_EQ(record.piece(1).data(), ms[1].args->text().data()) << "the args are not copied";
  std::string text = record.text();
  EXPECT_EQ(text.size(), record.size());
  const size_t frameBytes = store_detail::frameHeader('m', "").size();
  EXPECT_EQ(text, store_detail::frame('m', std::string_view(text).substr(frameBytes)))
      << "the checksum in pieces is the checksum of the whole payload";
  RecordProblem problem;
  auto back = decodeChunk(text, ChunkRef{3, 7, 9}, "c1", &problem);
  ASSERT_TRUE(back) << problem.message;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].args->text(), big);
  EXPECT_EQ((*back)[2].args->text(), R"({"small":2})");
  // Args just under the limit stay in the one piece.
  ms[1].args = Value::fromText(std::string(kChunkArgsPieceBytes - 3, '1'));
  EXPECT_EQ(encodeChunk(3, "c1", ms).pieceCount(), 1u);
}

// The checksum taken piece by piece, split anywhere, equals the one over
// the whole payload: words that straddle pieces are carried.
TEST(StoreFormat, ChecksumInPiecesMatchesTheWhole) {
  std::string payload;
  for (int i = 0; i < 61; ++i) payload += char('a' + (i * 7) % 26);
  std::string whole = store_detail::frameHeader('m', payload);
  for (size_t a = 0; a <= payload.size(); ++a) {
    for (size_t b = a; b <= payload.size(); b += 3) {
      std::string_view p(payload);
      std::vector<std::string_view> pieces = {p.substr(0, a), p.substr(a, b - a), p.substr(b)};
      ASSERT_EQ(store_detail::frameHeader('m', store_detail::payloadChecksum(pieces)), whole) << a << "," << b;
    }
  }
  // Many one-byte pieces.
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < payload.size(); ++i) bytes.push_back(std::string_view(payload).substr(i, 1));
  EXPECT_EQ(store_detail::frameHeader('m', store_detail::payloadChecksum(bytes)), whole);
}

TEST(StoreFormat, RegistryRoundTrips) {
  std::vector<GroupEntry> groups = {{"g1", "v1", {"a", "b"}, 10}, {"g2", "", {}, 20.5}};
  auto back = decodeRegistry(encodeRegistry(groups), nullptr);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].mutatorNames, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*back)[1].lastActiveMs, 20.5);
}

}  // namespace
}  // namespace replicore
