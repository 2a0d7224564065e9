// embind binding of the replicore core for the JavaScript wrapper
// (wasm/js/replicore.js): the functions the wrapper calls, each taking a
// core's handle first. The wrapper is the public API; Core (core_binding.h,
// where the boundary's design is explained) is the narrow, fast boundary
// under it, and this file only declares it to embind.
#include <emscripten/bind.h>
#include <emscripten/console.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core_binding.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

// Core's methods are bound as free functions taking the core's handle first
// ("coreGet(core, txID, key)"), not as an embind class: a class binding links
// embind's class runtime (instance handles, finalizers, up- and down-casts,
// `this` checks on every call) into the glue for the one object the wrapper
// owns and frees itself.
namespace {

// The cores the wrapper has created and not yet deleted. A handle that is
// not here is a wrapper bug (a call after delete); it stops the module with
// a message rather than touching freed memory.
std::vector<Core*>& liveCores() {
  static std::vector<Core*> cores;
  return cores;
}

__attribute__((noinline)) Core* coreFor(uintptr_t handle) {
  for (Core* c : liveCores()) {
    if (reinterpret_cast<uintptr_t>(c) == handle) return c;
  }
  emscripten_console_error("replicore: a deleted or unknown core was used");
  std::abort();
}

uintptr_t coreCreate(std::string optionsJson, emscripten::val host) {
  auto core = std::make_unique<Core>(std::move(optionsJson), std::move(host));
  liveCores().push_back(core.get());
  return reinterpret_cast<uintptr_t>(core.release());
}

void coreDelete(uintptr_t handle) {
  Core* core = coreFor(handle);
  auto& cores = liveCores();
  cores.erase(std::find(cores.begin(), cores.end(), core));
  delete core;
}

// CoreFunction<&Core::m>::call(handle, args...) calls core->m(args...).
template <auto Method>
struct CoreFunction;
template <class R, class... A, R (Core::*Method)(A...)>
struct CoreFunction<Method> {
  static R call(uintptr_t handle, A... args) { return (coreFor(handle)->*Method)(std::move(args)...); }
};
template <class R, class... A, R (Core::*Method)(A...) const>
struct CoreFunction<Method> {
  static R call(uintptr_t handle, A... args) { return (coreFor(handle)->*Method)(std::move(args)...); }
};

template <auto Method>
void bindCore(const char* name) {
  emscripten::function(name, &CoreFunction<Method>::call);
}

}  // namespace

REPLICORE_SIZE_OPTIMIZED_END

EMSCRIPTEN_BINDINGS(replicore) {
  emscripten::function("coreCreate", &coreCreate);
  emscripten::function("coreDelete", &coreDelete);
  bindCore<&Core::start>("coreStart");
  bindCore<&Core::setPushURL>("coreSetPushURL");
  bindCore<&Core::setPullURL>("coreSetPullURL");
  bindCore<&Core::setPushDelay>("coreSetPushDelay");
  bindCore<&Core::setPullInterval>("coreSetPullInterval");
  bindCore<&Core::close>("coreClose");
  bindCore<&Core::lastError>("coreLastError");
  bindCore<&Core::beginMutation>("coreBeginMutation");
  bindCore<&Core::beginMutationBody>("coreBeginMutationBody");
  bindCore<&Core::commitMutation>("coreCommitMutation");
  bindCore<&Core::abortMutation>("coreAbortMutation");
  bindCore<&Core::openRead>("coreOpenRead");
  bindCore<&Core::closeRead>("coreCloseRead");
  bindCore<&Core::get>("coreGet");
  bindCore<&Core::takeValueText>("coreTakeValueText");
  bindCore<&Core::has>("coreHas");
  bindCore<&Core::isEmpty>("coreIsEmpty");
  bindCore<&Core::scan>("coreScan");
  bindCore<&Core::scanRest>("coreScanRest");
  bindCore<&Core::setMany>("coreSetMany");
  bindCore<&Core::bodyBuffer>("coreBodyBuffer");
  bindCore<&Core::transportDoneBody>("coreTransportDoneBody");
  bindCore<&Core::holdPullValues>("coreHoldPullValues");
  bindCore<&Core::del>("coreDel");
  bindCore<&Core::addSubscription>("coreAddSubscription");
  bindCore<&Core::removeSubscription>("coreRemoveSubscription");
  bindCore<&Core::addWatch>("coreAddWatch");
  bindCore<&Core::addIndexWatch>("coreAddIndexWatch");
  bindCore<&Core::stageIndexKeys>("coreStageIndexKeys");
  bindCore<&Core::scanIndex>("coreScanIndex");
  bindCore<&Core::removeWatch>("coreRemoveWatch");
  bindCore<&Core::rebaseBegin>("coreRebaseBegin");
  bindCore<&Core::rebaseNext>("coreRebaseNext");
  bindCore<&Core::rebaseSucceeded>("coreRebaseSucceeded");
  bindCore<&Core::rebaseFailed>("coreRebaseFailed");
  bindCore<&Core::rebaseFinish>("coreRebaseFinish");
  bindCore<&Core::rebaseAbort>("coreRebaseAbort");
  bindCore<&Core::dropPull>("coreDropPull");
  bindCore<&Core::pull>("corePull");
  bindCore<&Core::push>("corePush");
  bindCore<&Core::auth>("coreAuth");
  bindCore<&Core::setAuth>("coreSetAuth");
  bindCore<&Core::authAnswer>("coreAuthAnswer");
  bindCore<&Core::pendingMutations>("corePendingMutations");
  bindCore<&Core::cookie>("coreCookie");
  bindCore<&Core::persistInit>("corePersistInit");
  bindCore<&Core::loadBegin>("coreLoadBegin");
  bindCore<&Core::loadContinue>("coreLoadContinue");
  bindCore<&Core::missedKeys>("coreMissedKeys");
  bindCore<&Core::nextPageKeys>("coreNextPageKeys");
  bindCore<&Core::fillPages>("coreFillPages");
  bindCore<&Core::fullyLoaded>("coreFullyLoaded");
  bindCore<&Core::persistHasWork>("corePersistHasWork");
  bindCore<&Core::writePlan>("coreWritePlan");
  bindCore<&Core::writeDone>("coreWriteDone");
  bindCore<&Core::refreshPlan>("coreRefreshPlan");
  bindCore<&Core::takeForeign>("coreTakeForeign");
  bindCore<&Core::hasForeign>("coreHasForeign");
  bindCore<&Core::journal>("coreJournal");
  bindCore<&Core::takeJournal>("coreTakeJournal");
  bindCore<&Core::journalsPending>("coreJournalsPending");
  bindCore<&Core::replayBegin>("coreReplayBegin");
}

}  // namespace replicore::wasm
