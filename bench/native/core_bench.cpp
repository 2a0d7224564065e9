// Native micro-benchmarks of the core, on the workloads of
// shared/BENCHMARKS.md that the core alone can run: populate, scan, rebase
// and subscription dispatch, with values of about 1 KiB.
//
//   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release -j2 --target core_bench
//   ./build-release/bench/native/core_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "replicore/replica.h"

namespace {

using replicore::Json;
using replicore::PatchOp;
using replicore::PatchOpKind;
using replicore::PullOutcome;
using replicore::PullSuccess;
using replicore::Replica;
using replicore::ReplicaOptions;
using replicore::ScanOptions;
using replicore::Value;
using replicore::WriteTransaction;

std::string Key(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%07d", prefix, i);
  return buf;
}

// A JSON object of about 1 KiB.
Json Value1K(int i, int version = 0) {
  return Json{{"id", i},
              {"version", version},
              {"title", "item " + std::to_string(i)},
              {"tags", Json::array({"a", "b", "c"})},
              {"body", std::string(960, static_cast<char>('a' + (i + version) % 26))}};
}

std::unique_ptr<Replica> NewReplica() {
  ReplicaOptions o;
  o.clientID = "bench-client";
  o.clientGroupID = "bench-group";
  o.profileID = "bench-profile";
  auto r = std::make_unique<Replica>(o);
  r->registerMutator("put", [](WriteTransaction& tx, const Json& a) {
    tx.set(a.at("key").get<std::string>(), a.at("value"));
    return Json();
  });
  return r;
}

PullSuccess PutsPull(Json cookie, const char* prefix, int n, int version) {
  PullSuccess p;
  p.cookie = std::move(cookie);
  p.patch.reserve(n);
  for (int i = 0; i < n; ++i) {
    PatchOp op;
    op.kind = PatchOpKind::kPut;
    op.key = Key(prefix, i);
    op.value = Value::make(Value1K(i, version));
    p.patch.push_back(std::move(op));
  }
  return p;
}

// Fills a replica's confirmed state with n keys through one pull.
void Fill(Replica& r, int n) {
  PullSuccess p = PutsPull(1, "key/", n, 0);
  if (r.applyPull(p, r.cookie()).kind != PullOutcome::Kind::kApplied) std::abort();
}

// 1. One mutation that sets N keys of ~1 KiB.
void BM_Populate(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Json> values;
  values.reserve(n);
  for (int i = 0; i < n; ++i) values.push_back(Value1K(i));
  for (auto _ : state) {
    state.PauseTiming();
    auto r = NewReplica();
    r->registerMutator("populate", [&values](WriteTransaction& tx, const Json&) {
      for (size_t i = 0; i < values.size(); ++i) tx.set(Key("key/", static_cast<int>(i)), values[i]);
      return Json();
    });
    state.ResumeTiming();
    r->mutate("populate", nullptr, 0);
    state.PauseTiming();
    if (r->read()->scanKeys({}).size() != static_cast<size_t>(n)) std::abort();
    r.reset();  // freeing is not part of populate
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Populate)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// 2. Sequential one-key mutations.
void BM_MutationOneKey(benchmark::State& state) {
  auto r = NewReplica();
  Json value = Value1K(1);
  int i = 0;
  for (auto _ : state) {
    r->mutate("put", Json{{"key", Key("m/", i++ % 10000)}, {"value", value}}, 0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutationOneKey)->Iterations(10000)->Unit(benchmark::kMicrosecond);

// 3. Scan 10,000 keys, warm: all entries of the visible state.
void BM_Scan10k(benchmark::State& state) {
  auto r = NewReplica();
  Fill(*r, 10000);
  for (auto _ : state) {
    auto tx = r->read();
    std::vector<replicore::Entry> entries = tx->scan(ScanOptions{});
    if (entries.size() != 10000) std::abort();
    benchmark::DoNotOptimize(entries.data());
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_Scan10k)->Unit(benchmark::kMillisecond);

// The same scan streamed (no vector), touching each value.
void BM_Scan10kEach(benchmark::State& state) {
  auto r = NewReplica();
  Fill(*r, 10000);
  for (auto _ : state) {
    auto tx = r->read();
    size_t bytes = 0;
    tx->scanEach(ScanOptions{}, [&](const std::string& k, const replicore::ValuePtr& v) {
      bytes += k.size() + v->json().size();
      return true;
    });
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_Scan10kEach)->Unit(benchmark::kMillisecond);

// 6. Rebase: 100 pending mutations replayed on top of a pull that changes
// 10,000 keys, with 100,000 keys cached.
void BM_Rebase(benchmark::State& state) {
  auto r = NewReplica();
  Fill(*r, 100000);
  Json value = Value1K(7);
  for (int i = 0; i < 100; ++i) r->mutate("put", Json{{"key", Key("pending/", i)}, {"value", value}}, 0);
  // Two patches of 10,000 puts with different values, alternated so each
  // rebase really changes 10,000 keys.
  PullSuccess patches[2] = {PutsPull(0, "key/", 10000, 1), PutsPull(0, "key/", 10000, 2)};
  int64_t cookie = 1;
  for (auto _ : state) {
    PullSuccess& p = patches[cookie % 2];
    p.cookie = ++cookie;
    PullOutcome o = r->applyPull(p, r->cookie());
    if (o.kind != PullOutcome::Kind::kApplied || r->pendingMutations().size() != 100) std::abort();
  }
  state.counters["cached_keys"] = static_cast<double>(r->confirmedSize());
}
BENCHMARK(BM_Rebase)->Unit(benchmark::kMillisecond);

// 4. Subscription dispatch: 100 subscriptions (each scans its own 10 keys
// of a 10,000-key state); one mutation changes keys seen by 5 of them.
void BM_SubscriptionDispatch(benchmark::State& state) {
  auto r = NewReplica();
  Fill(*r, 10000);
  r->registerMutator("touch5", [](WriteTransaction& tx, const Json& a) {
    int v = a.get<int>();
    for (int s = 0; s < 5; ++s) tx.set(Key("sub/", s * 20) + "/0", Json{{"v", v}});
    return Json();
  });
  for (int s = 0; s < 100; ++s)
    for (int k = 0; k < 10; ++k) r->mutate("put", Json{{"key", Key("sub/", s) + "/" + std::to_string(k)}, {"value", k}}, 0);
  int64_t fired = 0;
  for (int s = 0; s < 100; ++s) {
    ScanOptions o;
    o.prefix = Key("sub/", s) + "/";
    r->subscribe([o](replicore::ReadTransaction& tx) { return tx.scanEntries(o); },
                 [&fired](const Json&) { ++fired; });
  }
  fired = 0;
  int v = 0;
  for (auto _ : state) r->mutate("touch5", Json(++v), 0);
  if (fired != 5 * static_cast<int64_t>(state.iterations())) {
    std::fprintf(stderr, "expected 5 onData per mutation, got %lld over %lld\n", (long long)fired,
                 (long long)state.iterations());
    std::abort();
  }
  state.counters["onData_per_mutation"] = static_cast<double>(fired) / state.iterations();
}
BENCHMARK(BM_SubscriptionDispatch)->Unit(benchmark::kMicrosecond);

}  // namespace
