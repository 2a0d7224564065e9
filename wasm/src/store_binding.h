// The store side of the binding: records crossing from JavaScript, and the
// client-group registry functions that need no core (wasm/js/persist.js
// calls them before a core exists, or for groups other than its own).
#ifndef REPLICORE_WASM_STORE_BINDING_H_
#define REPLICORE_WASM_STORE_BINDING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "replicore/persister.h"

namespace replicore::wasm {

// Records JS wrote into wasm memory at `ptr`: [int32 length (-1: absent),
// UTF-8 bytes]... A length that overruns the buffer reads as absent.
// The views point into that buffer (valid until JS frees it, after the call).
std::vector<std::optional<std::string_view>> readRecordViews(uintptr_t ptr, size_t len);
// The same, copied.
std::vector<std::optional<std::string>> readRecords(uintptr_t ptr, size_t len);

// The index of a write batch for JS, in one buffer: uint32 n, then n ops of
// uint8 kind (1 put, 0 delete, 2 a foreign chunk to read), uint32 key
// length, key, and for puts uint32 piece count then each piece's uint32
// length and uint32 address (a record's pieces, in order: StoreRecord): the
// values are read where `batch` holds them, so it must outlive the reading.
std::string encodeStoreBatchIndex(const StoreBatch& batch);

// {"keys":[...]}: the records to read next.
std::string keysJson(const std::vector<std::string>& keys);

// {"done":true,"fresh","newerFormat","confirmedDropped","entries","pending",
// "problems":[...]}: what opening found.
std::string loadReportJson(const LoadReport& report);

}  // namespace replicore::wasm

#endif  // REPLICORE_WASM_STORE_BINDING_H_
